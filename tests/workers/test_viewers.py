import redis

from workers.viewers import count_viewers, expire_sessions, open_session, renew_session


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
