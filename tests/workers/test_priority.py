import pytest

from workers.queue.priority import broker_priority, build_score, urgency


def test_score_is_viewers_times_tier_capped_at_1000() -> None:
    assert build_score(3, 5) == 15
    assert build_score(0, 9) == 0
    assert build_score(400, 3) == 1000


def test_any_viewer_is_more_urgent_than_none() -> None:
    assert urgency(0) == 0
    assert urgency(1) == 1
    assert urgency(1000) == 9


@pytest.mark.parametrize(("low", "high"), [(0, 1), (10, 500), (500, 1000), (100, 999)])
def test_higher_score_is_served_first_on_redis_and_rabbitmq(low: int, high: int) -> None:
    # kombu's Redis transport serves step 0 first; RabbitMQ serves the largest number first.
    assert broker_priority(high, "redis") < broker_priority(low, "redis")
    assert broker_priority(high, "amqp") > broker_priority(low, "amqp")


def test_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="sqs"):
        broker_priority(10, "sqs")
