"""Viewer sessions and publish lag. A session keeps a camera's ladder running: opening one
counts a viewer (the first also queues the camera's last segments), renewing keeps it, and
one not renewed within its time to live, or ended (DELETE), stops counting."""

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel

from video_service.api.deps import (
    CallerDep,
    EventsDep,
    LiveDep,
    PrincipalDep,
    SessionDep,
    find_camera,
    lookups_of,
)
from video_service.api.errors import NotFound
from video_service.api.viewing import ViewerSession, open_viewer
from video_service.edge.scheduler import lag_summary
from video_service.shared.viewer_sessions import count_viewers, end_session, renew_session

router = APIRouter(prefix="/api/cameras", tags=["viewers"])


class PublishLag(BaseModel):
    p50_s: float
    p95_s: float
    samples: int


@router.post("/{camera_id}/viewers", status_code=201)
async def open_viewer_session(
    camera_id: str, request: Request, principal: CallerDep, live: LiveDep, events: EventsDep
) -> ViewerSession:
    camera = await lookups_of(request).camera(camera_id)
    principal.check_site(camera.site_id)
    return await open_viewer(live, events, camera, principal)


@router.post("/{camera_id}/viewers/{session_id}/renew")
def renew_viewer_session(
    camera_id: str, session_id: str, session: SessionDep, principal: PrincipalDep, live: LiveDep
) -> ViewerSession:
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    now = time.time()
    if not renew_session(live.redis, camera_id, session_id, ttl_s=live.session_ttl_s, now=now):
        raise NotFound("no such viewer session (expired?): open a new one")
    viewers = count_viewers(live.redis, camera_id, now=now)
    return ViewerSession(session_id=session_id, expires_in_s=live.session_ttl_s, viewers=viewers)


@router.delete("/{camera_id}/viewers/{session_id}", status_code=204)
def end_viewer_session(
    camera_id: str, session_id: str, session: SessionDep, principal: PrincipalDep, live: LiveDep
) -> None:
    """The viewer left, or watches over WebRTC (which needs no ladder): the session stops
    counting now rather than when its time to live runs out."""
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    if not end_session(live.redis, camera_id, session_id, now=time.time()):
        raise NotFound("no such viewer session (expired?)")


@router.get("/{camera_id}/lag")
def publish_lag(
    camera_id: str, session: SessionDep, principal: PrincipalDep, live: LiveDep
) -> dict[str, PublishLag]:
    """Seconds from the edge closing a source segment to each rendition's playlist listing
    it: `source` for the recording, one entry per encoded rung."""
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    summary = lag_summary(live.redis, camera_id)
    return {
        name: PublishLag(p50_s=v["p50_s"], p95_s=v["p95_s"], samples=int(v["samples"]))
        for name, v in summary.items()
    }
