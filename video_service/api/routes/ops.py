"""Operations (admin): the pools view (what `sparc-video pools` prints), and the live edges
with the streams each owns (the console's operations page)."""

import time
from typing import Any

import redis
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from video_service.api.deps import AdminDep, LiveDep, SettingsDep
from video_service.shared.edges import live_edges
from video_service.shared.ownership import all_owners
from video_service.shared.streams import SUB
from workers.queue.capacity import read_pools

router = APIRouter(prefix="/api/ops", tags=["ops"])


@router.get("/pools")
async def get_pools(live: LiveDep, _: AdminDep) -> dict[str, Any]:
    """Per worker pool: live and busy workers, jobs waiting by urgency band and the oldest
    one's age, jobs finished in the last minute by outcome, the mean job time and the
    recommended number of workers; per edge: cameras and ingest rate."""
    view = await run_in_threadpool(read_pools, live.scheduler.app, live.redis)
    return view.as_dict()


class EdgePublic(BaseModel):
    name: str
    live_view_url: str | None
    cameras: list[str]  # the main streams it owns (recording them)
    sub_streams: list[str]  # the cameras whose sub-stream it relays


class OverviewPublic(BaseModel):
    edges: list[EdgePublic]
    grafana_url: str | None


@router.get("/overview")
async def get_overview(live: LiveDep, settings: SettingsDep, _: AdminDep) -> OverviewPublic:
    """The edges alive now, where each serves live view and the streams each owns (a scan of
    the leases: an operations view, asked every few seconds, not per viewer)."""
    edges, owners = await run_in_threadpool(_read, live.redis)
    found = {name: EdgePublic(name=name, live_view_url=url, cameras=[], sub_streams=[])
             for name, url in edges.items()}  # fmt: skip
    for owner in owners:
        camera_id, _, stream = owner.camera_id.partition("/")
        edge = found.setdefault(owner.edge, EdgePublic(name=owner.edge, live_view_url=None,
                                                       cameras=[], sub_streams=[]))  # fmt: skip
        (edge.sub_streams if stream == SUB else edge.cameras).append(camera_id)
    for edge in found.values():
        edge.cameras.sort()
        edge.sub_streams.sort()
    return OverviewPublic(edges=sorted(found.values(), key=lambda e: e.name),
                          grafana_url=settings.grafana_url)  # fmt: skip


def _read(client: redis.Redis) -> tuple[dict[str, str | None], list[Any]]:
    return live_edges(client, time.time()), all_owners(client)
