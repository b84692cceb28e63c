"""The cameras publishing to this edge now: one `PublishSession` each, from the accepted
ANNOUNCE to the recorder's last segment, with what goes beside it: the camera's segment
watcher, its disabled-camera guard, its ownership lease, its live-view feed, and the
online and offline events.

A second publisher of a live camera replaces the first: a camera that reconnects after a
network fault often does so before its old connection has timed out.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.guard import cut_when_disabled
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.publisher import PublishSession
from video_service.edge.rtsp import Message
from video_service.edge.sessions import CameraSessions, forget_facts, tell_facts
from video_service.edge.settings import EdgeSettings
from video_service.edge.takeover import BucketHistory
from video_service.edge.watcher import Watchers
from video_service.shared.ownership import Owner

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class Publishers(CameraSessions[PublishSession]):
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
        edge: str,
    ) -> None:
        """`counted`: called when a camera comes or goes (the online gauge); `edge`: this
        edge's name, as the stream's facts give it."""
        super().__init__(directory, events, leases, feeds)
        self._edge = edge
        self._settings = settings
        self._watchers = watchers
        self._history = history
        self._spawn = spawn
        self._counted = counted

    async def publish(
        self,
        camera: CameraAuth,
        announce: Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Record the accepted publisher until either side ends it."""
        await self.end_previous(camera.id, "main stream")
        feed = self._feeds.open(camera.id)
        session = PublishSession(self._settings, camera, reader, writer, feed)
        self.live[camera.id] = session
        self._counted()
        watcher = self._watchers.for_camera(camera)
        watcher.uploaded.update(await self._history.continue_from(camera.id))
        watching = self._spawn(watcher.run())
        every_s = self._settings.enabled_check_s
        disabled = cut_when_disabled(
            self._directory, self._events, camera, every_s, session.stop, self.poke_event(camera.id)
        )
        guard = self._spawn(disabled)
        owned = await self._leases.take(camera.id)
        if owned is not None and not self._leases.keep(owned):
            session.cut_off_taken()
        holding = self._spawn(self._leases.hold(owned, session.cut_off_taken)) if owned else None
        try:
            await session.run(announce, lambda: self._online(session))
        finally:
            await forget_facts(self._leases, camera.id, session.id)
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

    async def _online(self, session: PublishSession) -> None:
        """RECORD is accepted: the camera is live (watchable before its first segment)."""
        if session.tap is not None:
            await tell_facts(self._leases, session.camera.id, session.tap, self._edge, session.id)
        await report(self._events, EventType.CAMERA_ONLINE, session.camera)

    def taken(self, owner: Owner) -> bool:
        """Another edge took a camera: cut off here if it publishes here (unless this edge
        holds a newer lease); whether it did publish here."""
        session = self.live.get(owner.camera_id)
        if session is None:
            return False
        self._leases.heard_taken(owner, session.cut_off_taken)
        return True
