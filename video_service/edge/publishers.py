"""The cameras publishing to this edge now: one `PublishSession` each, from the accepted
ANNOUNCE to the recorder's last segment, with what goes beside it: the camera's segment
watcher, its disabled-camera guard, its ownership lease, its live-view feed, and the
online and offline events.

A second publisher of a live camera replaces the first: a camera that reconnects after a
network fault often does so before its old connection has timed out.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.guard import cut_when_disabled
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.publisher import PublishSession
from video_service.edge.rtsp import Message
from video_service.edge.settings import EdgeSettings
from video_service.edge.takeover import BucketHistory
from video_service.edge.watcher import Watchers
from video_service.shared.ownership import Owner

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class Publishers:
    def __init__(
        self,
        settings: EdgeSettings,
        directory: CameraDirectory,
        events: EventSink,
        *,
        watchers: Watchers,
        history: BucketHistory,
        leases: CameraLeases,
        feeds: LiveFeeds,
        spawn: Spawn,
        counted: Callable[[], None],
    ) -> None:
        """`counted`: called when a camera comes or goes (the online gauge)."""
        self._settings = settings
        self._directory = directory
        self._events = events
        self._watchers = watchers
        self._history = history
        self._leases = leases
        self._feeds = feeds
        self._spawn = spawn
        self._counted = counted
        self.live: dict[str, PublishSession] = {}
        self._pokes: dict[str, asyncio.Event] = {}  # set: check the camera is enabled now

    async def publish(
        self,
        camera: CameraAuth,
        announce: Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Record the accepted publisher until either side ends it."""
        previous = self.live.get(camera.id)
        if previous is not None:
            log.info("camera %s publishes again: the new publisher replaces the old", camera.id)
            previous.stop()
            await previous.done.wait()
        feed = self._feeds.open(camera.id)
        session = PublishSession(self._settings, camera, reader, writer, feed)
        self.live[camera.id] = session
        self._counted()
        watcher = self._watchers.for_camera(camera)
        watcher.uploaded.update(await self._history.continue_from(camera.id))
        watching = self._spawn(watcher.run())
        poke = self._pokes.setdefault(camera.id, asyncio.Event())
        every_s = self._settings.enabled_check_s
        disabled = cut_when_disabled(
            self._directory, self._events, camera, every_s, session.stop, poke
        )
        guard = self._spawn(disabled)
        owned = await self._leases.take(camera.id)
        if owned is not None and not self._leases.keep(owned):
            session.cut_off_taken()
        holding = self._spawn(self._leases.hold(owned, session.cut_off_taken)) if owned else None
        try:
            await session.run(
                announce, lambda: report(self._events, EventType.CAMERA_ONLINE, camera)
            )
        finally:
            if holding is not None:
                holding.cancel()
                await asyncio.gather(holding, return_exceptions=True)
            await self._leases.release(camera.id)
            self._feeds.close(feed)
            guard.cancel()
            watching.cancel()
            if not session.taken_over:  # else the new owner's numbering goes on after ours
                await watcher.announce()  # the last segment, closed as the recorder finished
            if self.live.get(camera.id) is session:
                del self.live[camera.id]
                self._counted()
            await report(self._events, EventType.CAMERA_OFFLINE, camera)
            session.done.set()

    def taken(self, owner: Owner) -> bool:
        """Another edge took a camera: cut off here if it publishes here (unless this edge
        holds a newer lease); whether it did publish here."""
        session = self.live.get(owner.camera_id)
        if session is None:
            return False
        self._leases.heard_taken(owner, session.cut_off_taken)
        return True

    def poke(self, camera_id: str) -> None:
        """The camera changed: its guard looks at it now."""
        poke = self._pokes.get(camera_id)
        if poke is not None:
            poke.set()

    def stop_all(self) -> None:
        for session in list(self.live.values()):
            session.stop()

    async def close(self, wait_s: float) -> None:
        """Cut every publisher off, and wait for each recorder to close its last segment."""
        await stop_and_wait(list(self.live.values()), wait_s)


class Stoppable(Protocol):
    done: asyncio.Event

    def stop(self) -> None: ...


async def stop_and_wait(sessions: Sequence[Stoppable], wait_s: float) -> None:
    """Stop each session, then wait for each to be done (at most `wait_s` each)."""
    for session in sessions:
        session.stop()
    for session in sessions:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.done.wait(), wait_s)
