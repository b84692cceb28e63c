"""What the pools have been doing, kept in Redis for the pools view (`sparc-video pools`,
`GET /api/ops/pools`): jobs finished per outcome in 10-second buckets, recent job durations,
which workers are busy now, and each edge's cameras and ingest rate. Prometheus has the
same from the metrics; this is for operators with no Prometheus at hand, and for the
recommended pool size."""

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis

from workers.base import redis_keys
from workers.queue.pools import Pool

BUCKET_S = 10
WINDOW_S = 60
DURATION_SAMPLES = 200
BUSY_TTL_S = 3600  # a job longer than this still shows as busy only while it renews
EDGE_TTL_S = 15
OUTCOMES = ("done", "failed", "retried", "skipped")


def record_job(
    client: redis.Redis, pool: Pool, outcome: str, duration_s: float, *, now: float
) -> None:
    bucket = int(now // BUCKET_S)
    pipe = client.pipeline(transaction=False)
    pipe.incr(redis_keys.pool_activity(pool, outcome, bucket))
    pipe.expire(redis_keys.pool_activity(pool, outcome, bucket), WINDOW_S + 2 * BUCKET_S)
    if outcome in ("done", "failed"):
        pipe.lpush(redis_keys.pool_durations(pool), f"{duration_s:.3f}")
        pipe.ltrim(redis_keys.pool_durations(pool), 0, DURATION_SAMPLES - 1)
    pipe.execute()


@contextlib.contextmanager
def busy(client: redis.Redis, pool: Pool, worker: str) -> Iterator[None]:
    """Marks `worker` (a process) busy while the block runs; a Redis fault never fails the
    job it describes."""
    with contextlib.suppress(redis.RedisError):
        client.set(redis_keys.pool_busy(pool, worker), "1", ex=BUSY_TTL_S)
    try:
        yield
    finally:
        with contextlib.suppress(redis.RedisError):
            client.delete(redis_keys.pool_busy(pool, worker))


@dataclass(frozen=True)
class PoolActivity:
    last_minute: dict[str, int]
    busy_workers: int
    mean_job_s: float | None


def read_activity(client: redis.Redis, pool: Pool, *, now: float) -> PoolActivity:
    newest = int(now // BUCKET_S)
    buckets = range(newest - WINDOW_S // BUCKET_S + 1, newest + 1)
    pipe = client.pipeline(transaction=False)
    for outcome in OUTCOMES:
        for bucket in buckets:
            pipe.get(redis_keys.pool_activity(pool, outcome, bucket))
    pipe.lrange(redis_keys.pool_durations(pool), 0, -1)
    answers = pipe.execute()
    counts: dict[str, int] = {}
    for index, outcome in enumerate(OUTCOMES):
        found = answers[index * len(buckets) : (index + 1) * len(buckets)]
        counts[outcome] = sum(int(n) for n in found if n is not None)
    durations = [float(d) for d in answers[-1]]
    mean = sum(durations) / len(durations) if durations else None
    busy_now = sum(1 for _ in client.scan_iter(match=redis_keys.pool_busy(pool, "*"), count=1000))
    return PoolActivity(counts, busy_now, mean)


def beat_edge(client: redis.Redis, edge: str, cameras: int, ingest_bps: float) -> None:
    client.hset(redis_keys.edge_state(edge), mapping={"cameras": cameras, "ingest_bps": ingest_bps})
    client.expire(redis_keys.edge_state(edge), EDGE_TTL_S)


@dataclass(frozen=True)
class EdgeState:
    name: str
    cameras: int
    ingest_bps: float


def read_edges(client: redis.Redis) -> list[EdgeState]:
    edges = []
    for key in sorted(client.scan_iter(match=redis_keys.EDGE_STATE_PREFIX + "*", count=1000)):
        found = client.hgetall(key)
        if found:
            name = key.decode().removeprefix(redis_keys.EDGE_STATE_PREFIX)
            edges.append(EdgeState(name, int(found.get(b"cameras", 0)),
                                   float(found.get(b"ingest_bps", 0))))  # fmt: skip
    return edges


class IngestRate:
    """Bytes per second between two readings of a byte counter."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, int] | None = None

    def rate(self, total_bytes: int) -> float:
        now = self._clock()
        last, self._last = self._last, (now, total_bytes)
        if last is None or now <= last[0]:
            return 0.0
        return max(0, total_bytes - last[1]) / (now - last[0])
