"""The edge's camera leases alone, on the real Redis: take, keep, hold, hear another edge's
take, release; and Redis away."""

import asyncio
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from video_service.edge.camera_leases import CameraLeases
from video_service.shared.ownership import Ownership, owner_of
from workers.base import redis_keys
from workers.base.ports import free_port

CAMERA = "d" * 32


def test_a_camera_taken_kept_and_released_is_free_at_once(redis_client: redis.Redis) -> None:
    leases = CameraLeases(Ownership(redis_client, "edge-a"))

    async def scenario() -> None:
        owned = await leases.take(CAMERA)
        assert owned is not None and leases.keep(owned)
        assert owner_of(redis_client, CAMERA) == owned
        await leases.release(CAMERA)

    asyncio.run(scenario())
    assert owner_of(redis_client, CAMERA) is None


def test_a_larger_token_heard_cuts_off_and_a_smaller_does_not(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    leases = CameraLeases(Ownership(redis_client, "edge-a"))
    other = Ownership(new_redis(), "edge-b")
    cut: list[str] = []

    async def scenario() -> None:
        earlier = other.take(CAMERA)
        owned = await leases.take(CAMERA)
        assert owned is not None and leases.keep(owned)
        leases.heard_taken(earlier, lambda: cut.append("earlier"))
        assert cut == [], "an older take does not cut off the newer owner"
        assert leases.is_other_edge(earlier) and not leases.is_other_edge(owned)
        later = other.take(CAMERA)
        leases.heard_taken(later, lambda: cut.append("later"))
        assert cut == ["later"]

    asyncio.run(scenario())


def test_a_take_heard_while_ours_was_on_its_way_wins_when_larger(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    leases = CameraLeases(Ownership(redis_client, "edge-a"))
    other = Ownership(new_redis(), "edge-b")

    async def scenario() -> None:
        owned = await leases.take(CAMERA)
        assert owned is not None
        theirs = other.take(CAMERA)  # heard before our take returned (keep not yet called)
        leases.heard_taken(theirs, lambda: None)
        assert not leases.keep(owned), "the camera is theirs"

    asyncio.run(scenario())


def test_holding_renews_takes_again_a_lapsed_lease_and_is_cut_off_by_a_takeover(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    leases = CameraLeases(Ownership(redis_client, "edge-a", ttl_s=0.6))
    other = Ownership(new_redis(), "edge-b", ttl_s=0.6)

    async def scenario() -> None:
        taken_over = asyncio.Event()
        owned = await leases.take(CAMERA)
        assert owned is not None and leases.keep(owned)
        holding = asyncio.create_task(leases.hold(owned, taken_over.set))
        await asyncio.sleep(0.9)  # past the lease: renewed meanwhile
        assert owner_of(redis_client, CAMERA) == owned and not holding.done()
        redis_client.delete(redis_keys.camera_owner(CAMERA))  # Redis restarted empty
        await _until(lambda: (o := owner_of(redis_client, CAMERA)) is not None
                     and o.token > owned.token)  # fmt: skip
        assert not taken_over.is_set()
        other.take(CAMERA)
        await asyncio.wait_for(taken_over.wait(), 2)
        await asyncio.wait_for(holding, 1)  # it returns once it has cut off

    asyncio.run(scenario())


def test_without_redis_recording_goes_on_without_a_lease() -> None:
    away = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # no port: refused
    leases = CameraLeases(Ownership(away, "edge-a"))

    async def scenario() -> None:
        assert await leases.take(CAMERA) is None
        await leases.release(CAMERA)  # nothing held, nothing raised

    try:
        asyncio.run(scenario())
    finally:
        away.close()


def test_alone_every_camera_is_this_edges() -> None:
    leases = CameraLeases(None)
    assert asyncio.run(leases.take(CAMERA)) is None


async def _until(condition: Callable[[], object], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)
