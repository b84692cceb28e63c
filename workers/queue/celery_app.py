"""The Celery app: queues transcode.gpu and transcode.cpu, late acks, priorities that work.

Built by a function and handed its settings, so that importing this module starts nothing.
"""

import os
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from celery.app.amqp import AMQP
from celery.signals import worker_process_shutdown
from kombu import Connection, Queue  # type: ignore[attr-defined]

from workers.base.metrics import mark_process_dead
from workers.base.settings import Settings
from workers.engine.commands import Accel
from workers.queue.pools import Pool
from workers.queue.priority import PRIORITY_LEVELS

TRANSCODE_TASK = "sparc.transcode_job"
SEGMENT_TASK = "sparc.transcode_segment"


class QuickReconnect(Connection):
    """A broker connection that dials a lost broker again after 0.5 s, then 1 s, then every
    2 s (kombu's default: 2 s, 4 s, 6 s ... up to 30 s): a worker back within a few seconds
    of its broker, when live segment jobs have three segment durations to be done in."""

    def _ensure_connection(self, *args: Any, **kwargs: Any) -> Any:
        # Celery's consumer passes (errback, max_retries) and leaves the intervals to kombu.
        kwargs.setdefault("interval_start", 0.5)
        kwargs.setdefault("interval_step", 0.5)
        kwargs.setdefault("interval_max", 2.0)
        return super()._ensure_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


class SparcAMQP(AMQP):  # type: ignore[misc]
    Connection = QuickReconnect


class SparcCelery(Celery):  # type: ignore[misc]
    """A Celery app that carries the settings and the Redis URL its tasks need (a worker's
    are its WorkerSettings; a process that only queues work carries its own)."""

    amqp_cls = f"{__name__}:SparcAMQP"

    settings: Settings
    redis_url: str
    accel: Accel


def broker_transport(broker_url: str) -> str:
    return urlsplit(broker_url).scheme


def create_celery_app(
    settings: Settings, redis_url: str, *, accel: Accel = Accel.CPU
) -> SparcCelery:
    broker_url = settings.broker_url or redis_url
    app = SparcCelery("sparc_video", broker=broker_url, include=["workers.queue.tasks"])
    app.settings = settings
    app.redis_url = redis_url
    app.accel = accel
    amqp = broker_transport(broker_url).startswith("amqp") or broker_url.startswith("pyamqp")
    arguments = {"x-max-priority": PRIORITY_LEVELS - 1} if amqp else {}
    app.conf.update(
        task_queues=[_queue(pool.queue, arguments) for pool in Pool],
        task_default_queue=Pool.CPU.queue,
        task_create_missing_queues=False,
        # A job is acknowledged only once it is done, and put back when its worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message in hand per process, so that a later, higher score still goes first.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "priority_steps": list(range(PRIORITY_LEVELS)),
            "sep": ":",
            "queue_order_strategy": "priority",
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
        },
    )
    return app


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _process_gone(pid: int | None = None, **_: Any) -> None:
    """A prefork child exits: its live gauges leave the metrics' sums."""
    mark_process_dead(pid or os.getpid())


def _queue(name: str, arguments: dict[str, int]) -> Queue:
    return Queue(name, queue_arguments=arguments)  # type: ignore[no-untyped-call]
