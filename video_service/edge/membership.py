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
from video_service.shared.edges import ALIVE_BEAT_S, ALIVE_TTL_S
from video_service.shared.ownership import Ownership
from workers.base import redis_keys
from workers.queue.activity import IngestRate, beat_edge

POOLS_VIEW_BEAT_S = 5.0


class Membership:
    def __init__(
        self,
        client: redis.Redis,
        edge: str,
        clock: Callable[[], float] = time.time,
        whep_url: str | None = None,
    ) -> None:
        """`whep_url`: where this edge serves live view (said with each beat)."""
        self.client = client
        self.edge = edge
        self.whep_url = whep_url
        self._clock = clock
        self._alive: list[str] = []  # the live edges, as last heard

    @classmethod
    def of(cls, ownership: Ownership | None) -> "Membership | None":
        """The membership of the edge that owns with `ownership` (None: an edge alone)."""
        if ownership is None:
            return None
        return cls(ownership.client, ownership.edge, whep_url=ownership.whep_url)

    async def beat(self) -> None:
        """Say this edge is alive, and learn which are. Redis away: the last view holds."""
        with contextlib.suppress(*TRANSIENT):
            now = self._clock()
            self._alive = await asyncio.to_thread(
                beat_alive, self.client, self.edge, now, self.whep_url
            )

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


def beat_alive(
    client: redis.Redis, edge: str, now: float, whep_url: str | None = None
) -> list[str]:
    """Say `edge` is alive (and where it serves live view); the edges alive now (each
    beaten within `ALIVE_TTL_S`)."""
    pipe = client.pipeline(transaction=False)
    if whep_url is not None:
        pipe.hset(redis_keys.EDGES_LIVE_VIEW, edge, whep_url)
    pipe.zadd(redis_keys.EDGES_ALIVE, {edge: now})
    pipe.zremrangebyscore(redis_keys.EDGES_ALIVE, "-inf", now - ALIVE_TTL_S)
    pipe.zrange(redis_keys.EDGES_ALIVE, 0, -1)
    members = pipe.execute()[-1]
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)


def leave_alive(client: redis.Redis, edge: str) -> None:
    client.zrem(redis_keys.EDGES_ALIVE, edge)
    client.hdel(redis_keys.EDGES_LIVE_VIEW, edge)


def pulled_by(camera_id: str, edges: Sequence[str]) -> str | None:
    """The edge that pulls the camera among `edges` (rendezvous hashing: the highest hash
    of camera and edge); None when there is none."""

    def weight(edge: str) -> bytes:
        return hashlib.blake2b(f"{camera_id}/{edge}".encode(), digest_size=8).digest()

    return max(edges, key=weight) if edges else None
