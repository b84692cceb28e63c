import redis

from video_service.shared.viewer_sessions import (
    count_viewers,
    expire_sessions,
    open_session,
    open_sessions,
    renew_session,
)


def test_sessions_count_until_they_lapse_and_renewing_keeps_them(
    redis_client: redis.Redis,
) -> None:
    first = open_session(redis_client, "cam", ttl_s=10, now=100)
    second = open_session(redis_client, "cam", ttl_s=10, now=105)
    assert count_viewers(redis_client, "cam", now=109) == 2
    assert renew_session(redis_client, "cam", first, ttl_s=10, now=109)
    assert count_viewers(redis_client, "cam", now=116) == 1, "the second lapsed at 115"
    assert expire_sessions(redis_client, "cam", now=116) == [second]
    assert not renew_session(redis_client, "cam", second, ttl_s=10, now=116)
    assert count_viewers(redis_client, "cam", now=120) == 0
    assert count_viewers(redis_client, "other", now=120) == 0


def test_sessions_opened_together_are_counted_in_order_per_camera(
    redis_client: redis.Redis,
) -> None:
    open_session(redis_client, "a", ttl_s=10, now=100)
    opened = open_sessions(redis_client, ["a", "b", "a", "b", "c"], ttl_s=10, now=101)
    assert [viewers for _, viewers in opened] == [2, 1, 3, 2, 1], "1: a camera's first viewer"
    assert len({session for session, _ in opened}) == 5
    assert count_viewers(redis_client, "a", now=102) == 3
    assert renew_session(redis_client, "b", opened[3][0], ttl_s=10, now=102)
