"""This edge among the live edges, for the pull cameras they share.

Each edge says it is alive every `ALIVE_BEAT_S` (a sorted set by time, `EDGES_ALIVE`) and
learns which edges are; a pull camera is pulled by the live edge that rendezvous hashing
picks for it (`pulled_by`): every edge agrees without asking the others, and when an edge
leaves (`leave`) or dies (its beat `ALIVE_TTL_S` old) only its cameras move.

Each edge also tells the pools view (`sparc-video pools`, `/api/ops/pools`) how many cameras
it records and at what rate they send (`tell_pools_view_forever`).
"""

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Sequence

import redis

from video_service.edge.faults import TRANSIENT
from video_service.edge.metrics import edge_metrics
from video_service.edge.relay import INGESTED
from workers.base import redis_keys
from workers.queue.activity import IngestRate, beat_edge

ALIVE_BEAT_S = 2.0
ALIVE_TTL_S = 6.0
POOLS_VIEW_BEAT_S = 5.0


class Membership:
    def __init__(
        self, client: redis.Redis, edge: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.edge = edge
        self._clock = clock
        self._alive: list[str] = []  # the live edges, as last heard

    async def beat(self) -> None:
        """Say this edge is alive, and learn which are. Redis away: the last view holds."""
        with contextlib.suppress(*TRANSIENT):
            self._alive = await asyncio.to_thread(beat_alive, self.client, self.edge, self._clock())

    async def beat_forever(self) -> None:
        while True:
            await asyncio.sleep(ALIVE_BEAT_S)
            await self.beat()

    def pulls_here(self, camera_id: str) -> bool:
        """Whether this edge pulls the camera: its rendezvous share of the live edges."""
        return pulled_by(camera_id, sorted({*self._alive, self.edge})) == self.edge

    async def leave(self) -> None:
        """Its pull cameras move at once (Redis away: once its beat lapses)."""
        with contextlib.suppress(*TRANSIENT):
            await asyncio.to_thread(leave_alive, self.client, self.edge)


async def tell_pools_view_forever(
    client: redis.Redis, name: str, online: Callable[[], int]
) -> None:
    """This edge's cameras (`online`) and ingest rate, in Redis every few seconds; the
    online gauge with them (pulled cameras come and go on their own)."""
    rate = IngestRate()
    while True:
        cameras = online()
        edge_metrics().cameras_online.set(cameras)
        with contextlib.suppress(*TRANSIENT):
            ingest_bps = rate.rate(INGESTED.total) * 8
            await asyncio.to_thread(beat_edge, client, name, cameras, ingest_bps)
        await asyncio.sleep(POOLS_VIEW_BEAT_S)


def beat_alive(client: redis.Redis, edge: str, now: float) -> list[str]:
    """Say `edge` is alive; the edges alive now (each beaten within `ALIVE_TTL_S`)."""
    pipe = client.pipeline(transaction=False)
    pipe.zadd(redis_keys.EDGES_ALIVE, {edge: now})
    pipe.zremrangebyscore(redis_keys.EDGES_ALIVE, "-inf", now - ALIVE_TTL_S)
    pipe.zrange(redis_keys.EDGES_ALIVE, 0, -1)
    members = pipe.execute()[2]
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)


def leave_alive(client: redis.Redis, edge: str) -> None:
    client.zrem(redis_keys.EDGES_ALIVE, edge)


def pulled_by(camera_id: str, edges: Sequence[str]) -> str | None:
    """The edge that pulls the camera among `edges` (rendezvous hashing: the highest hash
    of camera and edge); None when there is none."""

    def weight(edge: str) -> bytes:
        return hashlib.blake2b(f"{camera_id}/{edge}".encode(), digest_size=8).digest()

    return max(edges, key=weight) if edges else None
