"""The Celery app: queues transcode.gpu and transcode.cpu, late acks, priorities that work.

Built by a function and handed its settings, so that importing this module starts nothing.
"""

from urllib.parse import urlsplit

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from workers.commands import Accel
from workers.pools import Pool
from workers.priority import PRIORITY_LEVELS
from workers.settings import Settings

TRANSCODE_TASK = "sparc.transcode_job"
SEGMENT_TASK = "sparc.transcode_segment"


class SparcCelery(Celery):  # type: ignore[misc]
    """A Celery app that carries the settings and the Redis URL its tasks need (a worker's
    are its WorkerSettings; a process that only queues work carries its own)."""

    settings: Settings
    redis_url: str
    accel: Accel


def broker_transport(broker_url: str) -> str:
    return urlsplit(broker_url).scheme


def create_celery_app(
    settings: Settings, redis_url: str, *, accel: Accel = Accel.CPU
) -> SparcCelery:
    broker_url = settings.broker_url or redis_url
    app = SparcCelery("sparc_video", broker=broker_url, include=["workers.tasks"])
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


def _queue(name: str, arguments: dict[str, int]) -> Queue:
    return Queue(name, queue_arguments=arguments)  # type: ignore[no-untyped-call]
