"""What the pipeline reports as events, and where it reports them: an `EventSink` the control
plane implements (its database), so that the edge never imports the API."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from video_service.edge.directory import CameraAuth
from video_service.edge.faults import TRANSIENT

log = logging.getLogger(__name__)


class EventType(StrEnum):
    CAMERA_ONLINE = "camera_online"
    CAMERA_OFFLINE = "camera_offline"
    PUBLISH_REFUSED = "publish_refused"
    SEGMENT_RECORDED = "segment_recorded"
    LADDER_JOB_DONE = "ladder_job_done"
    LADDER_JOB_FAILED = "ladder_job_failed"
    LADDER_JOB_SKIPPED = "ladder_job_skipped"
    VIEWER_JOINED = "viewer_joined"
    VIEWER_LEFT = "viewer_left"
    DISK_SPACE = "disk_space"  # the recording disk ran low, filled (recording stopped), recovered


@dataclass(frozen=True)
class NewEvent:
    type: EventType
    camera_id: str | None = None
    site_id: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


class EventSink(Protocol):
    def record(self, events: Sequence[NewEvent]) -> None:
        """Store the events, in one transaction; may block (call it from a thread)."""
        ...


async def report(
    sink: EventSink, type_: EventType, camera: CameraAuth | None, **detail: object
) -> None:
    """Record one event about `camera` from the event loop (the sink blocks: a thread). An
    event that cannot be written now is logged and dropped: recording goes on regardless."""
    event = NewEvent(
        type_,
        camera.id if camera else None,
        camera.site_id if camera else None,
        dict(detail),
    )
    await asyncio.to_thread(record_or_log, sink, [event])


def record_or_log(sink: EventSink, events: Sequence[NewEvent]) -> None:
    try:
        sink.record(events)
    except TRANSIENT as error:
        log.warning("%d events not written (%s: %s)", len(events), type(error).__name__, error)
