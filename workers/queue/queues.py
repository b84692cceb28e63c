"""What waits on the broker: each pool's queue depth by priority band, and how long its
oldest job has waited. Read through kombu's own channel, so that the list names (kombu's
Redis transport keeps a list per priority step, `{queue}{sep}{step}`) come from kombu and
our transport options, never from a copy of them.

Bands are urgencies (0 least to 9 most urgent, `workers.queue.priority`), the same on every
broker. RabbitMQ tells a queue's depth but not its bands (reported as band "all"), and
cannot be peeked without taking a message: the oldest job's age is Redis's only.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from workers.queue.celery_app import SparcCelery, broker_transport
from workers.queue.pools import Pool
from workers.queue.priority import MAX_SCORE, broker_priority, urgency

QUEUED_AT = "sparc_queued_at"  # the header every job is sent with (Unix time)
ALL = "all"


@dataclass(frozen=True)
class QueueState:
    pool: Pool
    depth: dict[str, int] = field(default_factory=dict)  # band -> waiting jobs
    oldest_queued_at: float | None = None

    @property
    def total(self) -> int:
        return sum(self.depth.values())

    def oldest_age(self, now: float) -> float | None:
        return None if self.oldest_queued_at is None else max(0.0, now - self.oldest_queued_at)


def queued_headers(clock: Callable[[], float] = time.time) -> dict[str, float]:
    return {QUEUED_AT: clock()}


def read_queues(app: SparcCelery) -> list[QueueState]:
    """Every pool's queue, read in one connection to the broker."""
    transport = broker_transport(app.conf.broker_url)
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        if transport.startswith("amqp") or transport == "pyamqp":
            return [_amqp_queue(channel, pool) for pool in Pool]
        return [_redis_queue(channel, pool, transport) for pool in Pool]


def _redis_queue(channel: Any, pool: Pool, transport: str) -> QueueState:
    client = channel.client
    steps = sorted(set(channel.priority_steps))
    names = {step: channel._q_for_pri(pool.queue, step) for step in steps}
    pipe = client.pipeline(transaction=False)
    for name in names.values():
        pipe.llen(name)
        pipe.lindex(name, -1)  # kombu pushes on the left and takes from the right
    answers = pipe.execute()
    depth: dict[str, int] = {}
    oldest: float | None = None
    for index, step in enumerate(steps):
        count, last = int(answers[2 * index]), answers[2 * index + 1]
        band = str(_band_of_step(step, transport))
        depth[band] = depth.get(band, 0) + count
        queued = _queued_at(last)
        if queued is not None and (oldest is None or queued < oldest):
            oldest = queued
    return QueueState(pool, depth, oldest)


def _band_of_step(step: int, transport: str) -> int:
    """The urgency a priority step carries: `broker_priority` read backwards."""
    return _bands(transport).get(step, 0)


@cache
def _bands(transport: str) -> dict[int, int]:
    return {broker_priority(score, transport): urgency(score) for score in range(MAX_SCORE + 1)}


def _queued_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        headers = json.loads(raw).get("headers") or {}
        queued = headers.get(QUEUED_AT)
        return float(queued) if queued is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def _amqp_queue(channel: Any, pool: Pool) -> QueueState:
    try:
        _, count, _ = channel.queue_declare(queue=pool.queue, passive=True)
    except Exception:  # the queue not declared yet: nothing waits on it
        return QueueState(pool, {ALL: 0})
    return QueueState(pool, {ALL: int(count)})
