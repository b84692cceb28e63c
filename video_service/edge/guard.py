"""A camera disabled or deleted while it publishes is cut off: at once when the control plane
says so (`poke`, set on its notice: `redis_keys.CAMERA_CHANGED`), else at the next look."""

import asyncio
import contextlib
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
    poke: asyncio.Event | None = None,
) -> None:
    streak = Streak(f"checking camera {camera.id} is enabled")
    poke = poke or asyncio.Event()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poke.wait(), every_s)
        poke.clear()
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
