"""The pools view: per pool, its live and busy workers, what waits in its queue (by priority
band, and the oldest job's age), what it finished in the last minute, and how many workers
it needs; per edge, its cameras and ingest rate. `sparc-video pools` and
`GET /api/ops/pools` print it.

The recommendation: jobs arrive at the rate they were finished in the last minute, plus the
backlog cleared within one live deadline; each takes the pool's mean job time (the last 200
jobs; a segment's length when there are none yet); 25% headroom; divided by the slots
(processes) a worker of the pool runs. A pool with nothing to do needs none (the GPU pool
may scale to zero).
"""

import math
import time
from dataclasses import asdict, dataclass

import redis

from workers.engine.live_ladder import deadline_s
from workers.queue.activity import read_activity, read_edges
from workers.queue.celery_app import SparcCelery
from workers.queue.pools import Pool, worker_slots
from workers.queue.queues import QueueState, read_queues

HEADROOM = 1.25


@dataclass(frozen=True)
class PoolView:
    pool: str
    queue: str
    live_workers: int
    busy_workers: int
    slots: int
    waiting: dict[str, int]  # band -> jobs
    waiting_total: int
    oldest_waiting_s: float | None
    last_minute: dict[str, int]  # outcome -> jobs
    mean_job_s: float | None
    recommended_workers: int


@dataclass(frozen=True)
class EdgeView:
    name: str
    cameras: int
    ingest_mbps: float


@dataclass(frozen=True)
class PoolsView:
    at: float
    pools: list[PoolView]
    edges: list[EdgeView]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def recommend(
    *, finished_per_min: int, waiting: int, mean_job_s: float, deadline: float, per_worker: int
) -> int:
    arriving = finished_per_min / 60 + waiting / deadline  # jobs a second
    if arriving <= 0:
        return 0
    busy_slots = arriving * mean_job_s * HEADROOM
    return max(1, math.ceil(busy_slots / max(per_worker, 1)))


def read_pools(app: SparcCelery, client: redis.Redis, *, now: float | None = None) -> PoolsView:
    moment = time.time() if now is None else now
    settings = app.settings
    queues: dict[Pool, QueueState] = {q.pool: q for q in read_queues(app)}
    views = []
    for pool in Pool:
        workers = worker_slots(client, pool)
        activity = read_activity(client, pool, now=moment)
        queue = queues.get(pool, QueueState(pool))
        slots = sum(workers.values())
        per_worker = round(slots / len(workers)) if workers else 1
        finished = sum(activity.last_minute.get(k, 0) for k in ("done", "failed", "skipped"))
        mean = activity.mean_job_s
        wanted = recommend(
            finished_per_min=finished,
            waiting=queue.total,
            mean_job_s=mean if mean is not None else settings.segment_seconds,
            deadline=deadline_s(settings),
            per_worker=per_worker,
        )
        views.append(PoolView(
            pool.value, pool.queue, len(workers), activity.busy_workers, slots,
            dict(sorted(queue.depth.items())), queue.total, queue.oldest_age(moment),
            activity.last_minute, mean, wanted,
        ))  # fmt: skip
    edges = [EdgeView(e.name, e.cameras, round(e.ingest_bps / 1e6, 3)) for e in read_edges(client)]
    return PoolsView(moment, views, edges)


def render(view: PoolsView) -> str:
    """The view as a terminal table."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(view.at))
    lines = [f"worker pools at {stamp}", ""]
    lines.append(f"{'pool':<5} {'workers':>7} {'busy':>5} {'slots':>5} {'waiting':>8} "
                 f"{'oldest':>8} {'done/min':>8} {'failed':>6} {'skipped':>7} {'mean job':>9} "
                 f"{'need':>5}")  # fmt: skip
    for p in view.pools:
        oldest = f"{p.oldest_waiting_s:.1f}s" if p.oldest_waiting_s is not None else "-"
        mean = f"{p.mean_job_s:.2f}s" if p.mean_job_s is not None else "-"
        lines.append(
            f"{p.pool:<5} {p.live_workers:>7} {p.busy_workers:>5} {p.slots:>5} "
            f"{p.waiting_total:>8} {oldest:>8} {p.last_minute.get('done', 0):>8} "
            f"{p.last_minute.get('failed', 0):>6} {p.last_minute.get('skipped', 0):>7} "
            f"{mean:>9} {p.recommended_workers:>5}"
        )
        bands = ", ".join(f"{band}: {n}" for band, n in p.waiting.items() if n)
        if bands:
            lines.append(f"      waiting by urgency band: {bands}")
    lines += ["", f"{'edge':<32} {'cameras':>8} {'ingest':>12}"]
    for e in view.edges:
        lines.append(f"{e.name:<32} {e.cameras:>8} {e.ingest_mbps:>8.2f} Mb/s")
    if not view.edges:
        lines.append("(no edge reporting)")
    return "\n".join(lines)
