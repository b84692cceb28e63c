"""Viewer sessions and publish lag. A session keeps a camera's ladder running: opening one
counts a viewer (the first also queues the camera's last segments), renewing keeps it, and
one not renewed within its time to live stops counting."""

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from video_service.api.deps import PrincipalDep, SessionDep
from video_service.api.routes.cameras import find_camera
from video_service.errors import NotFound, ServiceUnavailable
from video_service.events import EventBuffer
from video_service.live import LiveServices
from video_service.lookups import CameraFacts, Lookups
from video_service.models import EventType
from video_service.scheduler import lag_summary
from video_service.settings import ApiSettings
from workers.viewers import count_viewers, renew_session

router = APIRouter(prefix="/api/cameras", tags=["viewers"])


class ViewerSession(BaseModel):
    session_id: str
    expires_in_s: float
    viewers: int


class PublishLag(BaseModel):
    p50_s: float
    p95_s: float
    samples: int


def live_services(request: Request) -> LiveServices:
    live: LiveServices | None = request.app.state.live
    if live is None:
        raise ServiceUnavailable("live services are not configured on this API")
    return live


@router.post("/{camera_id}/viewers", status_code=201)
async def open_viewer_session(camera_id: str, request: Request) -> ViewerSession:
    principal = await lookups_of(request).principal(request.headers.get("authorization", ""))
    camera = await lookups_of(request).camera(camera_id)
    principal.check_site(camera.site_id)
    return await open_viewer(request, camera)


async def open_viewer(request: Request, camera: CameraFacts) -> ViewerSession:
    """Count a viewer; the camera's first also queues its last segments for the ladder.
    Its viewer_joined event is written with the next batch (within a fifth of a second)."""
    live = live_services(request)
    settings: ApiSettings = request.app.state.settings
    session_id, viewers = await live.opener.open(camera.id)
    if viewers == 1:
        camera_dir = settings.resolved_media_root / "live" / camera.id
        await run_in_threadpool(live.scheduler.queue_recent, camera_dir, camera.id, camera.tier)
    events_of(request).add(EventType.VIEWER_JOINED, camera_id=camera.id,
                           site_id=camera.site_id, viewer_session=session_id)  # fmt: skip
    return ViewerSession(session_id=session_id, expires_in_s=live.session_ttl_s, viewers=viewers)


def lookups_of(request: Request) -> Lookups:
    lookups: Lookups = request.app.state.lookups
    return lookups


def events_of(request: Request) -> EventBuffer:
    events: EventBuffer = request.app.state.events
    return events


@router.post("/{camera_id}/viewers/{session_id}/renew")
def renew_viewer_session(
    camera_id: str, session_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> ViewerSession:
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    live = live_services(request)
    now = time.time()
    if not renew_session(live.redis, camera_id, session_id, ttl_s=live.session_ttl_s, now=now):
        raise NotFound("no such viewer session (expired?): open a new one")
    viewers = count_viewers(live.redis, camera_id, now=now)
    return ViewerSession(session_id=session_id, expires_in_s=live.session_ttl_s, viewers=viewers)


@router.get("/{camera_id}/lag")
def publish_lag(
    camera_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> dict[str, PublishLag]:
    """Seconds from the edge closing a source segment to each rendition's playlist listing
    it: `source` for the recording, one entry per encoded rung."""
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    summary = lag_summary(live_services(request).redis, camera_id)
    return {
        name: PublishLag(p50_s=v["p50_s"], p95_s=v["p95_s"], samples=int(v["samples"]))
        for name, v in summary.items()
    }
