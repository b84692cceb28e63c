"""Viewer sessions on the real Redis: counted by who holds them (a key once), lapsing and
renewed, ended, and capped per holder so that asking again and again changes nothing."""

import redis

from video_service.shared.viewer_sessions import (
    PER_HOLDER,
    count_all_sessions,
    count_viewers,
    end_session,
    expire_sessions,
    open_sessions,
    renew_session,
)

A, B = "a" * 16, "b" * 16


def open_one(client: redis.Redis, camera: str, holder: str, now: float) -> str:
    return open_sessions(client, [(camera, holder)], ttl_s=10, now=now)[0].session_id


def test_sessions_count_until_they_lapse_and_renewing_keeps_them(
    redis_client: redis.Redis,
) -> None:
    first = open_one(redis_client, "cam", A, 100)
    second = open_one(redis_client, "cam", B, 105)
    assert count_viewers(redis_client, "cam", now=109) == 2
    assert renew_session(redis_client, "cam", first, ttl_s=10, now=109)
    assert count_viewers(redis_client, "cam", now=116) == 1, "the second lapsed at 115"
    assert expire_sessions(redis_client, "cam", now=116) == [B]
    assert not renew_session(redis_client, "cam", second, ttl_s=10, now=116)
    assert count_viewers(redis_client, "cam", now=120) == 0
    assert count_viewers(redis_client, "other", now=120) == 0


def test_sessions_opened_together_are_counted_in_order_per_camera_and_holder(
    redis_client: redis.Redis,
) -> None:
    open_one(redis_client, "a", A, 100)
    openings = [("a", B), ("b", A), ("a", A), ("b", B), ("c", A)]
    opened = open_sessions(redis_client, openings, ttl_s=10, now=101)
    assert [o.viewers for o in opened] == [2, 1, 2, 2, 1], "1: a camera's first viewer"
    assert [o.new_viewer for o in opened] == [True, True, False, True, True]
    assert len({o.session_id for o in opened}) == 5
    assert all(o.session_id.startswith(h) for o, (_, h) in zip(opened, openings, strict=True))
    assert count_viewers(redis_client, "a", now=102) == 2
    assert renew_session(redis_client, "b", opened[3].session_id, ttl_s=10, now=102)


def test_a_key_asking_again_and_again_counts_once_and_holds_a_few_sessions(
    redis_client: redis.Redis,
) -> None:
    opened = [open_one(redis_client, "cam", A, 100 + n / 100) for n in range(300)]
    assert count_viewers(redis_client, "cam", now=103) == 1, "one key, one viewer"
    assert count_all_sessions(redis_client, now=103) == PER_HOLDER
    assert all(
        renew_session(redis_client, "cam", s, ttl_s=10, now=103) for s in opened[-PER_HOLDER:]
    )
    assert not renew_session(redis_client, "cam", opened[0], ttl_s=10, now=103), "ended: oldest"


def test_ending_a_holders_last_session_stops_it_counting_at_once(
    redis_client: redis.Redis,
) -> None:
    first, second = open_one(redis_client, "cam", A, 100), open_one(redis_client, "cam", A, 101)
    assert end_session(redis_client, "cam", first, now=102)
    assert count_viewers(redis_client, "cam", now=102) == 1, "it holds another"
    assert end_session(redis_client, "cam", second, now=103)
    assert count_viewers(redis_client, "cam", now=103) == 0
    assert not end_session(redis_client, "cam", second, now=104)
    assert expire_sessions(redis_client, "cam", now=104) == [A]
