"""Celery tasks: thin. Each unpacks its ids, calls one function, and says what happened."""

from functools import cache
from pathlib import Path
from typing import Any

import redis
from celery import Task, shared_task

from workers.celery_app import SEGMENT_TASK, TRANSCODE_TASK
from workers.errors import TransientError
from workers.jobs import JobStore
from workers.live_ladder import run_live_segment
from workers.runner import LeaseHeld, execute_job
from workers.storage import Uploads, open_uploads

MAX_ATTEMPTS = 3


@cache
def _client(redis_url: str) -> redis.Redis:
    # One client per worker process, made after the prefork fork.
    return redis.Redis.from_url(redis_url)


def _store(redis_url: str) -> JobStore:
    return JobStore(_client(redis_url))


@cache
def _uploads(bucket: str | None, endpoint_url: str | None, state_dir: Path) -> Uploads:
    # One way to storage per worker process (made after the prefork fork).
    return open_uploads(bucket, endpoint_url, state_dir, "worker")


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
    try:
        status = execute_job(
            _store(app.redis_url),
            job_id,
            app.settings,
            accel=app.accel,
            worker=self.request.hostname or "worker",
            final_attempt=self.request.retries >= MAX_ATTEMPTS - 1,
        )
    except LeaseHeld:
        # Ack this delivery only after a follow-up is queued: if the holder dies, it runs.
        delivery = self.request.delivery_info or {}
        self.apply_async(
            args=(job_id,),
            countdown=app.settings.lease_s,
            queue=delivery.get("routing_key"),
            priority=delivery.get("priority"),
        )
        return "deferred"
    return str(status.state)


# A live segment job is acknowledged as it is taken: its lease, not the broker, says whether
# it is still being worked on (see workers.live_ladder).
SEGMENT_RETRIES: dict[str, Any] = {**RETRIES, "acks_late": False, "reject_on_worker_lost": False}


@shared_task(bind=True, name=SEGMENT_TASK, **SEGMENT_RETRIES)  # type: ignore[untyped-decorator]
def transcode_segment(self: Task[Any, Any], camera_id: str, segment: str, closed_at: float) -> str:
    """One live source segment through the lower rungs; skipped past its deadline."""
    app = self.app
    result = run_live_segment(
        _client(app.redis_url),
        app.settings,
        camera_id,
        segment,
        closed_at,
        accel=app.accel,
        uploads=_uploads(
            app.settings.s3_bucket, app.settings.s3_endpoint_url, app.settings.state_dir
        ),
    )
    return result.outcome if result is not None else "held or done elsewhere"
