"""Pull cameras: the camera is an RTSP server and the edge reads it. One puller runs for each
enabled pull camera (and none for the others); a puller records the camera, says when it
comes online and when it goes, and tries again after 1, 2, 4 ... up to
`pull_backoff_max_s` seconds; the playlist continues after a discontinuity.

Each attempt first checks where the URL points now (`pull_urls.check_destination`: a name
may resolve elsewhere than when the camera was created) and connects to the address it
checked, through the edge's relay (`pull_relay`): the recorder never sees the camera's
credentials.

With several edges, each pulls its share (`share`: the live edge rendezvous hashing
picks, `video_service.edge.membership.pulled_by`), and a camera that moved here first
continues from what the bucket holds (`prepare`)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from video_service.edge.directory import CameraAuth, CameraDirectory, PullCamera
from video_service.edge.errors import BadPullUrl
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.faults import Backoff
from video_service.edge.pull_relay import PullRelay
from video_service.edge.pull_urls import PullUrl, check_pull_destination
from video_service.edge.recorder import Audio, build_pull_input, start_recorder
from video_service.edge.settings import EdgeSettings
from video_service.edge.sub_pull import SubStreamPuller
from video_service.edge.watcher import SegmentWatcher, listed_segments
from workers.base.errors import SecretsUnreadable
from workers.base.layout import MediaLayout
from workers.base.process import stop_child

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


Sources = tuple[PullUrl, PullUrl | None]


def _sources(pull: PullCamera) -> Sources:
    """What a puller reads: another URL for either, and it starts again."""
    return pull.source, pull.sub_source


class PullSupervisor:
    def __init__(
        self,
        settings: EdgeSettings,
        directory: CameraDirectory,
        events: EventSink,
        watcher_for: Callable[[CameraAuth], SegmentWatcher],
        spawn: Spawn,
        recording_allowed: Callable[[], bool],
        share: Callable[[str], bool] | None = None,
        prepare: Callable[[CameraAuth], Awaitable[None]] | None = None,
        subs: SubStreamPuller | None = None,
    ) -> None:
        """`subs`: pulls the cameras' sub-streams (None: they are left alone)."""
        self._subs = subs
        self._recording_allowed = recording_allowed
        self._share = share or (lambda camera_id: True)  # None: one edge pulls them all
        self._prepare = prepare
        self._settings = settings
        self._directory = directory
        self._events = events
        self._watcher_for = watcher_for
        self._spawn = spawn
        self._layout = MediaLayout(settings.media_root)
        self.online: set[str] = set()  # pulled cameras recording now
        self.pulling: set[str] = set()  # pull cameras this edge has a puller for
        self._refresh = asyncio.Event()  # set: look at the pull cameras now
        self._running: dict[str, tuple[Sources, asyncio.Task[None]]] = {}
        # Cameras another edge took: not pulled here again before this (monotonic) time,
        # so that two edges whose views of the live edges differ for a moment do not take
        # a camera back and forth (the views agree within a beat: membership.ALIVE_BEAT_S).
        self._held_off: dict[str, float] = {}

    async def run(self) -> None:
        """Keep one puller running for each enabled pull camera, and none for the others."""
        running = self._running
        while True:
            allowed = self._recording_allowed()  # no room on the disk: nothing is pulled
            pulls = await self._wanted() if allowed else []
            now = time.monotonic()
            self._held_off = {c: until for c, until in self._held_off.items() if until > now}
            wanted = {
                pull.camera.id: pull
                for pull in pulls
                if self._share(pull.camera.id) and pull.camera.id not in self._held_off
            }
            for camera_id, (sources, task) in list(running.items()):
                if camera_id not in wanted or _sources(wanted[camera_id]) != sources or task.done():
                    task.cancel()
                    del running[camera_id]
            for camera_id, pull in wanted.items():
                if camera_id not in running:
                    running[camera_id] = (_sources(pull), self._spawn(self._pull(pull)))
            self.pulling = set(running)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh.wait(), self._settings.pull_refresh_s)
            self._refresh.clear()

    def drop(self, camera_id: str, hold_off_s: float, by: str = "another") -> None:
        """Edge `by` took the camera: stop pulling it, and leave it for `hold_off_s`."""
        log.warning("pull camera %s was taken by edge %s: not pulled here", camera_id, by)
        self._held_off[camera_id] = time.monotonic() + hold_off_s
        found = self._running.pop(camera_id, None)
        if found is not None:
            found[1].cancel()
            self.pulling.discard(camera_id)

    def refresh_now(self) -> None:
        """A camera changed (disabled, deleted, another source): look again now."""
        self._refresh.set()

    async def _wanted(self) -> list[PullCamera]:
        try:
            return await asyncio.to_thread(self._directory.pull_cameras)
        except (OSError, SQLAlchemyError, SecretsUnreadable) as error:
            log.warning("listing pull cameras failed: %s", error)
            return []

    async def _pull(self, pull: PullCamera) -> None:
        """Record a camera that is an RTSP server, and relay its sub-stream where it has one;
        reconnect with a growing wait."""
        sub = None
        if self._subs is not None and pull.sub_source is not None:
            sub = asyncio.create_task(self._subs.run(pull.camera.id, pull.sub_source))
        try:
            await self._record(pull)
        finally:
            if sub is not None:
                sub.cancel()
                await asyncio.gather(sub, return_exceptions=True)

    async def _record(self, pull: PullCamera) -> None:
        camera = pull.camera
        outdir = self._layout.source_dir(camera.id)
        await asyncio.to_thread(outdir.mkdir, parents=True, exist_ok=True)
        backoff = Backoff(self._settings.pull_backoff_max_s)
        while True:
            try:
                came_online = await self._record_once(camera, pull.source)
                reason = "stream ended" if came_online else "cannot read it"
            except BadPullUrl as refused:
                came_online, reason = False, f"refused: {refused}"
            except OSError as error:  # the relay could not start, or a spawn failed
                came_online, reason = False, f"cannot read it: {error}"
            await report(self._events, EventType.CAMERA_OFFLINE, camera, reason=reason)
            await backoff.wait(came_online)

    async def _record_once(self, camera: CameraAuth, url: PullUrl) -> bool:
        """Record until the camera's stream ends; whether it came online at all."""
        settings = self._settings
        addresses = await asyncio.to_thread(check_pull_destination, url, settings)
        if self._prepare is not None:
            await self._prepare(camera)
        relay = PullRelay(camera.id, url, addresses[0])
        outdir = self._layout.source_dir(camera.id)
        try:
            relay.start()
            pull_input = build_pull_input(relay.local_url)
            recorder = await start_recorder(settings, pull_input, outdir, Audio.ANY)
        except BaseException:  # cancelled too: the relay's socket is closed, never left
            relay.close()
            raise
        watcher = self._spawn(self._watcher_for(camera).run())
        online = asyncio.create_task(self._online_when_recording(camera))
        try:
            await recorder.wait()
        finally:
            # What needs no waiting first: a second cancellation (the edge closing while
            # this camera is dropped) interrupts the awaits below, never these.
            self.online.discard(camera.id)
            relay.close()
            online.cancel()
            try:
                await stop_child(recorder)
            finally:
                watcher.cancel()
        if relay.failure:
            log.info("camera %s: %s", camera.id, relay.failure)
        return online.done() and not online.cancelled() and online.result()

    async def _online_when_recording(self, camera: CameraAuth) -> bool:
        outdir = self._layout.source_dir(camera.id)
        before = await asyncio.to_thread(listed_segments, outdir)
        while True:
            await asyncio.sleep(0.5)
            if await asyncio.to_thread(listed_segments, outdir) - before:
                self.online.add(camera.id)
                await report(self._events, EventType.CAMERA_ONLINE, camera, mode="pull")
                return True
