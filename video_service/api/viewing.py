"""Counting a viewer: shared by the playback request and `POST .../viewers`."""

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from video_service.api.events import EventBuffer
from video_service.api.live import LiveServices
from video_service.api.lookups import CameraFacts
from video_service.edge.events import EventType


class ViewerSession(BaseModel):
    session_id: str
    expires_in_s: float
    viewers: int


async def open_viewer(
    live: LiveServices, events: EventBuffer, camera: CameraFacts
) -> ViewerSession:
    """Count a viewer; the camera's first also queues its last segments for the ladder.
    Its viewer_joined event is written with the next batch (within a fifth of a second)."""
    session_id, viewers = await live.opener.open(camera.id)
    if viewers == 1:
        await run_in_threadpool(live.scheduler.queue_recent, camera.id, camera.tier)
    events.add(EventType.VIEWER_JOINED, camera_id=camera.id, site_id=camera.site_id,
               viewer_session=session_id)  # fmt: skip
    return ViewerSession(session_id=session_id, expires_in_s=live.session_ttl_s, viewers=viewers)
