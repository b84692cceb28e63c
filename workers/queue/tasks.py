"""Celery tasks: thin. Each unpacks its ids, calls one function, and says what happened
(to the metrics, and to the pools view's activity in Redis)."""

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import redis
from celery import Task, shared_task

from workers.base.errors import TransientError
from workers.base.redis_client import connect
from workers.base.storage import Storage, open_storage
from workers.engine.commands import Accel
from workers.engine.live_ladder import run_live_segment
from workers.queue.activity import busy, record_job
from workers.queue.celery_app import SEGMENT_TASK, TRANSCODE_TASK, SparcCelery
from workers.queue.errors import LeaseHeld
from workers.queue.job_runner import execute_job
from workers.queue.jobs import JobStore
from workers.queue.metrics import ladder_metrics
from workers.queue.pools import Pool
from workers.queue.queues import queued_headers

MAX_ATTEMPTS = 3


@cache
def _client(redis_url: str) -> redis.Redis:
    # One client per worker process, made after the prefork fork.
    return connect(redis_url)


def _store(redis_url: str) -> JobStore:
    return JobStore(_client(redis_url))


@cache
def _storage(bucket: str | None, endpoint_url: str | None, media_root: Path) -> Storage:
    # One way to storage per worker process (made after the prefork fork).
    return open_storage(bucket, endpoint_url, media_root)


@contextlib.contextmanager
def observed(app: SparcCelery, kind: str, worker: str) -> Iterator[Callable[[str], None]]:
    """Time a job and count its outcome (what the block says; `retried` when it raises a
    transient fault, `failed` for anything else it raises; nothing when it says nothing)."""
    client = _client(app.redis_url)
    pool = Pool.CPU if app.accel is Accel.CPU else Pool.GPU
    outcome: list[str] = []
    started = time.monotonic()
    with busy(client, pool, f"{worker}:{os.getpid()}"):
        try:
            yield outcome.append
        except TransientError:
            outcome.append("retried")
            raise
        except LeaseHeld:  # another worker holds it: deferred, not an outcome
            raise
        except Exception:
            outcome.append("failed")
            raise
        finally:
            if outcome:
                took = time.monotonic() - started
                metrics = ladder_metrics()
                metrics.job_duration.labels(pool.value, kind).observe(took)
                metrics.jobs.labels(pool.value, kind, outcome[-1]).inc()
                with contextlib.suppress(redis.RedisError):
                    record_job(client, pool, outcome[-1], took, now=time.time())


# DESIGN's retry contract: 3 attempts, 2 s then 4 s apart, transient faults only; acked
# late and put back if the worker dies.
RETRIES: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "max_retries": MAX_ATTEMPTS - 1,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(bind=True, name=TRANSCODE_TASK, **RETRIES)  # type: ignore[untyped-decorator]
def transcode_job(self: Task[Any, Any], job_id: str) -> str:
    app = self.app
    worker = self.request.hostname or "worker"
    try:
        with observed(app, "file", worker) as said:
            status = execute_job(
                _store(app.redis_url),
                job_id,
                app.settings,
                accel=app.accel,
                worker=worker,
                final_attempt=self.request.retries >= MAX_ATTEMPTS - 1,
            )
            said(str(status.state))
    except LeaseHeld:
        # Ack this delivery only after a follow-up is queued: if the holder dies, it runs.
        delivery = self.request.delivery_info or {}
        self.apply_async(
            args=(job_id,),
            countdown=app.settings.lease_s,
            queue=delivery.get("routing_key"),
            priority=delivery.get("priority"),
            headers=queued_headers(),
        )
        return "deferred"
    return str(status.state)


# A live segment job is acknowledged as it is taken: its lease, not the broker, says whether
# it is still being worked on (see workers.engine.live_ladder).
SEGMENT_RETRIES: dict[str, Any] = {**RETRIES, "acks_late": False, "reject_on_worker_lost": False}


@shared_task(bind=True, name=SEGMENT_TASK, **SEGMENT_RETRIES)  # type: ignore[untyped-decorator]
def transcode_segment(self: Task[Any, Any], camera_id: str, segment: str, closed_at: float) -> str:
    """One live source segment through the lower rungs; skipped past its deadline."""
    app = self.app
    with observed(app, "live", self.request.hostname or "worker") as said:
        result = run_live_segment(
            _client(app.redis_url),
            app.settings,
            camera_id,
            segment,
            closed_at,
            accel=app.accel,
            storage=_storage(
                app.settings.s3_bucket, app.settings.s3_endpoint_url, app.settings.media_root
            ),
        )
        if result is not None:
            said(result.outcome)
    return result.outcome if result is not None else "held or done elsewhere"
