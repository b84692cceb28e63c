"""A camera disabled or deleted while it publishes is cut off within seconds."""

import asyncio
from collections.abc import Callable

from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.faults import TRANSIENT, Streak


async def cut_when_disabled(
    directory: CameraDirectory,
    events: EventSink,
    camera: CameraAuth,
    every_s: float,
    cut: Callable[[], None],
) -> None:
    streak = Streak(f"checking camera {camera.id} is enabled")
    while True:
        await asyncio.sleep(every_s)
        try:
            current = await asyncio.to_thread(directory.camera, camera.id)
        except TRANSIENT as error:
            streak.failed(error)  # unknown for now: it goes on publishing
            continue
        streak.ok()
        if current is None or not current.enabled:
            reason = "camera deleted" if current is None else "camera disabled"
            await report(events, EventType.PUBLISH_REFUSED, camera, reason=reason)
            cut()
            return
