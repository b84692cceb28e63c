"""Viewer sessions and publish lag. A session keeps a camera's ladder running: opening one
counts a viewer (the first also queues the camera's last segments), renewing keeps it, and
one not renewed within its time to live stops counting."""

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from video_service.api.deps import PrincipalDep, SessionDep, SettingsDep
from video_service.api.routes.cameras import find_camera
from video_service.errors import NotFound, ServiceUnavailable
from video_service.events import record_event
from video_service.live import LiveServices
from video_service.models import Camera, EventType
from video_service.scheduler import lag_summary
from video_service.settings import ApiSettings
from workers.viewers import count_viewers, open_session, renew_session

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
def open_viewer_session(
    camera_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> ViewerSession:
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    return open_viewer(live_services(request), session, settings, camera)


def open_viewer(
    live: LiveServices, session: Session, settings: ApiSettings, camera: Camera
) -> ViewerSession:
    """Count a viewer; the camera's first also queues its last segments for the ladder."""
    now = time.time()
    first = count_viewers(live.redis, camera.id, now=now) == 0
    session_id = open_session(live.redis, camera.id, ttl_s=live.session_ttl_s, now=now)
    tier, site_id = camera.site.tier, camera.site_id
    if first:
        camera_dir = settings.resolved_media_root / "live" / camera.id
        live.scheduler.queue_recent(camera_dir, camera.id, tier)
    viewers = count_viewers(live.redis, camera.id, now=now)
    # Last: the write holds SQLite's lock until the request commits, so keep it short.
    record_event(session, EventType.VIEWER_JOINED, camera_id=camera.id,
                 site_id=site_id, viewer_session=session_id)  # fmt: skip
    return ViewerSession(session_id=session_id, expires_in_s=live.session_ttl_s, viewers=viewers)


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
