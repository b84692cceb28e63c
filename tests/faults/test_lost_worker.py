"""A worker killed with SIGKILL (its whole process group, as a machine that dies) while it
runs a file job: the job is done again by another worker within about a minute, on Redis
(whose broker would hold the message for its hour-long visibility timeout) and on RabbitMQ,
and the job's status never stays "running" on a dead worker."""

import time
from pathlib import Path

import pytest
import redis

from tests.media import FIVE, assert_aligned_ladder
from tests.waiting import eventually
from tests.workers_harness import StartWorker, finished, submit, wait_for
from workers.base.settings import WorkerSettings
from workers.queue.jobs import JobSpec, JobState, JobStore

QUICK = {"SPARC_LEASE_S": "6", "SPARC_WORKER_HEARTBEAT_S": "2"}


@pytest.mark.long
def test_a_job_whose_worker_died_is_done_by_another_within_a_minute(
    broker: str | None,
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_long_1080p: Path,
    tmp_path: Path,
) -> None:
    source = source_long_1080p
    env = {**QUICK, **({"SPARC_BROKER_URL": broker} if broker else {})}
    if broker:
        settings = settings.model_copy(update={"broker_url": broker})
    store = JobStore(redis_client)
    doomed = workers("doomed", **env)
    outdir = tmp_path / "out"
    job_id = submit(settings, redis_client, JobSpec(str(source), str(outdir)))
    wait_for(store, job_id, lambda s: (s.percent or 0) >= 10)
    doomed.kill()
    killed = time.monotonic()
    workers("rescuer", **env)
    eventually(lambda: store.status(job_id).worker == "celery@rescuer", 60, what="the rescue")
    status = wait_for(store, job_id, finished, timeout=120)
    print(f"\n{broker or 'redis'}: taken up again {time.monotonic() - killed:.0f} s after the kill")
    assert status.state is JobState.DONE, status
    assert status.worker == "celery@rescuer" and len(status.attempts) == 2, status
    assert_aligned_ladder(outdir, FIVE)
