"""Start and stop real `sparc-video worker` processes for tests."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WorkerProcess:
    name: str
    process: "subprocess.Popen[bytes]"
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a crashed node would go."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

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
    deadline = time.monotonic() + 30
    while " ready." not in worker.output():
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker {name} did not start:\n{worker.output()}")
        time.sleep(0.1)
    return worker
