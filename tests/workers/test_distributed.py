"""Real Celery workers on the real Redis: priority order, retries, bad input, a lost worker."""

from pathlib import Path

import pytest
import redis

from tests.media import FIVE, assert_aligned_ladder, ffmpeg
from tests.waiting import eventually, holds
from tests.workers_harness import StartWorker, finished, start_worker, submit, wait_for
from workers.base.settings import WorkerSettings
from workers.queue.jobs import JobSpec, JobState, JobStore
from workers.queue.pools import Pool, beat, choose_pool


def test_with_the_worker_busy_the_highest_score_runs_first(
    broker: str | None,
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_1080p: Path,
    source_small: Path,
    tmp_path: Path,
) -> None:
    extra = {}
    if broker is not None:
        extra = {"SPARC_BROKER_URL": broker}
        settings = settings.model_copy(update={"broker_url": broker})
    store = JobStore(redis_client)
    workers("solo", **extra)
    blocker_spec = JobSpec(str(source_1080p), str(tmp_path / "b"), score=1)
    blocker = submit(settings, redis_client, blocker_spec)
    wait_for(store, blocker, lambda s: s.state is JobState.RUNNING)
    scores = [10, 1000, 0, 500]
    jobs = {
        score: submit(
            settings,
            redis_client,
            JobSpec(str(source_small), str(tmp_path / f"s{score}"), score=score),
        )
        for score in scores
    }
    assert store.status(blocker).state is JobState.RUNNING, "queue them while the worker is busy"
    started = {}
    for score, job_id in jobs.items():
        status = wait_for(store, job_id, finished)
        assert status.state is JobState.DONE, status
        started[score] = status.attempts[0]
    assert sorted(scores, key=started.__getitem__) == [1000, 500, 10, 0]


def test_a_transient_fault_is_retried_after_2_then_4_seconds_then_fails(
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_small: Path,
    tmp_path: Path,
) -> None:
    store = JobStore(redis_client)
    workers("retrier")
    unmounted = tmp_path / "unmounted" / "out"
    job_id = submit(settings, redis_client, JobSpec(str(source_small), str(unmounted)))
    status = wait_for(store, job_id, finished, timeout=60)
    assert status.state is JobState.FAILED
    assert status.error_kind == "StorageUnavailable"
    assert "not reachable" in (status.error or "")
    first, second, third = status.attempts
    # 2 s then 4 s apart; the upper bounds leave room for a loaded machine.
    assert 1.8 <= second - first <= 8
    assert 3.8 <= third - second <= 10
    # The third failure is final: no fourth attempt comes (it would after 8 s; 5 s tell).
    holds(lambda: len(store.status(job_id).attempts) == 3, 5, what="three attempts")


def test_a_transient_fault_that_clears_succeeds_on_the_next_attempt(
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_small: Path,
    tmp_path: Path,
) -> None:
    store = JobStore(redis_client)
    workers("recovering")
    mount = tmp_path / "mount"
    job_id = submit(settings, redis_client, JobSpec(str(source_small), str(mount / "out")))
    wait_for(store, job_id, lambda s: s.state is JobState.RETRYING)
    mount.mkdir()
    status = wait_for(store, job_id, finished)
    assert status.state is JobState.DONE and len(status.attempts) == 2
    assert (mount / "out" / "master.m3u8").exists()


def test_bad_input_fails_at_once_and_is_never_retried(
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    store = JobStore(redis_client)
    workers("strict")
    audio = tmp_path / "voice.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300", "-t", "2", "-c:a", "aac", str(audio))
    job_id = submit(settings, redis_client, JobSpec(str(audio), str(tmp_path / "out")))
    status = wait_for(store, job_id, finished)
    assert status.state is JobState.FAILED
    assert status.error_kind == "UnsupportedInput"
    assert "voice.m4a has no video stream" in (status.error or "")
    # A retry would come after 2 s.
    holds(lambda: len(store.status(job_id).attempts) == 1, 3, what="one attempt")
    assert not (tmp_path / "out").exists()


@pytest.mark.long
def test_a_worker_killed_mid_job_leaves_it_to_another_that_completes_it(
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_long_1080p: Path,
    tmp_path: Path,
) -> None:
    source = source_long_1080p
    store = JobStore(redis_client)
    fast_redelivery = {
        "SPARC_VISIBILITY_TIMEOUT_S": "4",
        "SPARC_RESTORE_INTERVAL_S": "1",
        "SPARC_LEASE_S": "3",
    }
    doomed = workers("doomed", **fast_redelivery)
    outdir = tmp_path / "out"
    job_id = submit(settings, redis_client, JobSpec(str(source), str(outdir)))
    wait_for(store, job_id, lambda s: (s.percent or 0) >= 20)
    doomed.kill()
    assert not outdir.exists(), "no half-written ladder is visible"
    assert list(tmp_path.glob(".out.staging-*")), "the killed attempt was mid-write"
    workers("rescuer", **fast_redelivery)
    status = wait_for(store, job_id, finished, timeout=120)
    assert status.state is JobState.DONE, status
    assert status.worker == "celery@rescuer" and len(status.attempts) == 2
    assert_aligned_ladder(outdir, FIVE)
    assert not list(tmp_path.glob(".out.*")), "exactly one output, no staging left"


def test_work_goes_to_the_gpu_pool_only_while_a_gpu_worker_is_alive(
    redis_client: redis.Redis,
) -> None:
    assert choose_pool(redis_client) is Pool.CPU
    beat(redis_client, Pool.GPU, "gpu@node-1", ttl_s=1)
    assert choose_pool(redis_client) is Pool.GPU
    eventually(lambda: choose_pool(redis_client) is Pool.CPU, 3)  # its beat lapsed


def test_a_gpu_worker_without_a_gpu_says_why_and_serves_the_cpu_pool(
    worker_env: dict[str, str],
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_small: Path,
    tmp_path: Path,
) -> None:
    worker = start_worker("would-be-gpu", worker_env, tmp_path, pool="gpu")
    try:
        log = worker.output()
        assert "nvenc" in log and "falling back to the CPU (transcode.cpu)" in log
        assert choose_pool(redis_client) is Pool.CPU
        job_id = submit(settings, redis_client, JobSpec(str(source_small), str(tmp_path / "o")))
        status = wait_for(JobStore(redis_client), job_id, finished)
        assert status.state is JobState.DONE and status.queue == "transcode.cpu"
    finally:
        worker.stop()


def test_a_redelivery_while_the_first_worker_runs_waits_instead_of_running_twice(
    workers: StartWorker,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    source_1080p: Path,
    tmp_path: Path,
) -> None:
    # A visibility timeout far shorter than the job makes the broker hand it out again
    # while the first worker is still on it.
    eager_redelivery = {
        "SPARC_VISIBILITY_TIMEOUT_S": "1",
        "SPARC_RESTORE_INTERVAL_S": "1",
        "SPARC_LEASE_S": "2",
        "SPARC_X264_PRESET": "medium",
    }
    store = JobStore(redis_client)
    first = workers("first", **eager_redelivery)
    job_id = submit(settings, redis_client, JobSpec(str(source_1080p), str(tmp_path / "out")))
    wait_for(store, job_id, lambda s: s.state is JobState.RUNNING)
    second = workers("second", **eager_redelivery)
    status = wait_for(store, job_id, finished)
    assert status.state is JobState.DONE and status.worker == "celery@first"
    eventually(lambda: "'deferred'" in second.output(), 20, what="a deferred redelivery")

    def logs() -> str:
        return first.output() + second.output()

    # Each deferred copy comes back, finds the job done, and does nothing.
    eventually(lambda: logs().count("'done'") >= logs().count("'deferred'") + 1, 20)
    assert len(store.status(job_id).attempts) == 1
    assert "succeeded" in first.output()
    assert_aligned_ladder(tmp_path / "out", FIVE)
