"""Start and stop real `sparc-video worker` processes for tests."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.environment import TEST_REDIS_URL
from tests.waiting import eventually
from workers.base.process import stop_process
from workers.base.settings import WorkerSettings
from workers.queue.celery_app import create_celery_app
from workers.queue.dispatch import submit_job
from workers.queue.jobs import JobSpec, JobStatus, JobStore

StartWorker = Callable[..., "WorkerProcess"]


@dataclass
class WorkerProcess:
    name: str
    process: "subprocess.Popen[bytes]"
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a crashed node would go."""
        stop_process(self.process, first=signal.SIGKILL, group=True)

    def stop(self) -> None:
        """Celery's warm shutdown; what is left after 20 s (its pool too) is killed."""
        stop_process(self.process, grace_s=20, group=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_worker(name: str, env: dict[str, str], log_dir: Path, pool: str = "cpu") -> WorkerProcess:
    log = log_dir / f"{name}.log"
    command = [sys.executable, "-m", "video_service.cli", "worker", "--pool", pool]
    command += ["--concurrency", "1", "--hostname", name, "--loglevel", "info"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(name, process, log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"worker {name} exited:\n{worker.output()}")
        return " ready." in worker.output()

    try:
        eventually(ready, 30, what=f"worker {name}")
    except (AssertionError, RuntimeError):
        worker.stop()
        raise
    return worker


def submit(settings: WorkerSettings, client: redis.Redis, spec: JobSpec) -> str:
    return submit_job(create_celery_app(settings, TEST_REDIS_URL), client, spec)


def wait_for(
    store: JobStore, job_id: str, until: Callable[[JobStatus], bool], timeout: float = 90
) -> JobStatus:
    seen: list[JobStatus] = []

    def reached() -> JobStatus | None:
        seen[:] = [store.status(job_id)]
        return seen[0] if until(seen[0]) else None

    try:
        return eventually(reached, timeout, what=f"job {job_id}")
    except AssertionError as error:
        raise AssertionError(f"{error}: stuck at {seen[-1] if seen else None}") from None


def finished(status: JobStatus) -> bool:
    return status.state.finished
