"""Operations: the pools view (admin), what `sparc-video pools` prints."""

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from video_service.api.deps import AdminDep, LiveDep
from workers.queue.capacity import read_pools

router = APIRouter(prefix="/api/ops", tags=["ops"])


@router.get("/pools")
async def get_pools(live: LiveDep, _: AdminDep) -> dict[str, Any]:
    """Per worker pool: live and busy workers, jobs waiting by urgency band and the oldest
    one's age, jobs finished in the last minute by outcome, the mean job time and the
    recommended number of workers; per edge: cameras and ingest rate."""
    view = await run_in_threadpool(read_pools, live.scheduler.app, live.redis)
    return view.as_dict()
