"""Counting a viewer: shared by the playback request and `POST .../viewers`."""

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from video_service.api.auth import Principal
from video_service.api.events import EventBuffer
from video_service.api.live import LiveServices
from video_service.api.lookups import CameraFacts
from video_service.edge.events import EventType
from video_service.shared.viewer_sessions import holder_of


class ViewerSession(BaseModel):
    session_id: str
    expires_in_s: float
    viewers: int


async def open_viewer(
    live: LiveServices, events: EventBuffer, camera: CameraFacts, principal: Principal
) -> ViewerSession:
    """Count a viewer (a key once, however many sessions it opens); the camera's first also
    queues its last segments for the ladder. A key that starts watching is a viewer_joined
    event, written with the next batch (within a fifth of a second)."""
    holder = holder_of(principal.key_id)
    opened = await live.opener.open(camera.id, holder)
    if opened.viewers == 1 and opened.new_viewer:
        await run_in_threadpool(live.scheduler.queue_recent, camera.id, camera.tier)
    if opened.new_viewer:
        events.add(EventType.VIEWER_JOINED, camera_id=camera.id, site_id=camera.site_id,
                   viewer=holder, viewer_session=opened.session_id)  # fmt: skip
    return ViewerSession(
        session_id=opened.session_id, expires_in_s=live.session_ttl_s, viewers=opened.viewers
    )
