"""Queue depth on RabbitMQ (no priority bands there: one count per queue), and the priority
bands read back from Redis's per-step lists mapping to the urgencies the scores were sent at."""

import kombu
import pytest
import redis

from tests.environment import TEST_REDIS_URL
from tests.waiting import eventually
from workers.base.settings import Settings
from workers.queue.celery_app import create_celery_app
from workers.queue.dispatch import submit_segment
from workers.queue.pools import Pool, choose_pool
from workers.queue.priority import MAX_SCORE, broker_priority, urgency
from workers.queue.queues import ALL, QueueState, _band_of_step, read_queues


@pytest.mark.parametrize("transport", ["redis", "amqp"])
def test_each_broker_step_reads_back_as_the_urgency_it_was_sent_at(transport: str) -> None:
    for score in range(MAX_SCORE + 1):
        assert _band_of_step(broker_priority(score, transport), transport) == urgency(score)


def test_rabbitmq_queue_depth_is_counted(redis_client: redis.Redis, rabbitmq: str) -> None:
    settings = Settings(broker_url=rabbitmq)
    app = create_celery_app(settings, TEST_REDIS_URL)
    for n, score in enumerate((0, 500, 1000, 1000)):
        submit_segment(app, redis_client, "e" * 32, f"seg_{n}.ts", 0.0, score)

    # A publish to RabbitMQ is queued a moment after it is sent (no publisher confirms):
    # the count reaches 4 shortly, and never goes past it; shortly can be many seconds while
    # the suite's browsers and encoders load both cores (10 s once was not enough).
    def counted() -> dict[Pool, QueueState]:
        depth = {state.pool: state for state in read_queues(app)}
        return depth if depth[Pool.CPU].depth.get(ALL, 0) >= 4 else {}

    try:
        depth = eventually(counted, 30)
    except AssertionError as failed:  # say what the broker holds, and who else reads it
        held = _held(rabbitmq)
        raise AssertionError(f"{failed}: {held}; pool {choose_pool(redis_client)}") from None
    assert depth[Pool.CPU].depth == {ALL: 4} and depth[Pool.CPU].oldest_queued_at is None
    assert depth[Pool.GPU].total == 0


def _held(url: str) -> dict[str, tuple[int, int] | None]:
    """Each of our queues' messages and consumers (None: not declared)."""
    found: dict[str, tuple[int, int] | None] = {}
    with kombu.Connection(url, connect_timeout=3) as connection:
        for pool in Pool:
            try:  # a passive declare of a missing queue closes its channel: one each
                channel = connection.channel()
                _, messages, consumers = channel.queue_declare(pool.queue, passive=True)
                found[pool.queue] = (int(messages), int(consumers))
            except Exception:
                found[pool.queue] = None
    return found
