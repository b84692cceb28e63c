"""Edge membership alone, on the real Redis: beats, the live edges, each pull camera's one
puller, leaving, a beat gone stale; and Redis away."""

import asyncio
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from video_service.edge.membership import Membership, pulled_by
from video_service.shared.edges import ALIVE_TTL_S
from workers.base.ports import free_port

CAMERAS = [f"{n:032x}" for n in range(40)]


def test_two_edges_share_the_pull_cameras_whole_and_without_overlap(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    a, b = Membership(redis_client, "edge-a"), Membership(new_redis(), "edge-b")
    asyncio.run(a.beat())
    asyncio.run(b.beat())
    asyncio.run(a.beat())  # a hears b
    mine = {c for c in CAMERAS if a.pulls_here(c)}
    theirs = {c for c in CAMERAS if b.pulls_here(c)}
    assert mine | theirs == set(CAMERAS) and not mine & theirs
    assert mine == {c for c in CAMERAS if pulled_by(c, ["edge-a", "edge-b"]) == "edge-a"}
    assert 0 < len(mine) < len(CAMERAS)


def test_an_edge_that_leaves_or_goes_silent_gives_its_cameras_to_the_others(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    now = [1000.0]
    a = Membership(redis_client, "edge-a", clock=lambda: now[0])
    b = Membership(new_redis(), "edge-b", clock=lambda: now[0])
    c = Membership(new_redis(), "edge-c", clock=lambda: now[0])
    for edge in (a, b, c, a):
        asyncio.run(edge.beat())
    assert not all(a.pulls_here(cam) for cam in CAMERAS)
    asyncio.run(b.leave())
    now[0] += ALIVE_TTL_S + 0.1  # and c goes silent
    asyncio.run(a.beat())
    assert all(a.pulls_here(cam) for cam in CAMERAS)


def test_with_redis_away_the_last_view_holds(redis_client: redis.Redis) -> None:
    a = Membership(redis_client, "edge-a")
    asyncio.run(a.beat())
    away = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # no port: refused
    try:
        a.client = away
        asyncio.run(a.beat())  # logged, not raised
        asyncio.run(a.leave())
        assert all(a.pulls_here(cam) for cam in CAMERAS), "alone, as last heard"
    finally:
        away.close()
