"""The RTSP edge: one TCP port for every camera, a path per camera (`/cam/{id}`).

The edge speaks RTSP itself up to authentication (OPTIONS, then ANNOUNCE checked by
`auth.Authenticator`); an accepted publisher becomes a `publisher.PublishSession` (its own
FFmpeg recorder, the signalling handed over, the RTP bytes relayed as they are), watched by
the camera's `watcher.SegmentWatcher` and by the disabled-camera guard. Beside the
connections it runs the pull cameras (`pull.PullSupervisor`), retention, and the ladder
scheduler's reading of job outcomes.

Garbage, oversized heads and clients that never finish a request are answered 400 or
dropped; each connection is its own task, so none of that reaches other cameras.
"""

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import redis

from cdn.signing import OriginSigner
from video_service.edge.auth import Authenticator
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.disk import DiskGuard
from video_service.edge.errors import BadMessage, Refused
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.faults import TRANSIENT, log_unexpected
from video_service.edge.guard import cut_when_disabled
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.ice import host_plan
from video_service.edge.live_view.whep import WhepService, ice_servers, serve_whep
from video_service.edge.publisher import PublishSession
from video_service.edge.pull import PullSupervisor
from video_service.edge.refusals import Refusals
from video_service.edge.relay import INGESTED, send
from video_service.edge.retention import sweep_forever
from video_service.edge.rtsp import MAX_HEAD, Message, read_message, response
from video_service.edge.scheduler import LadderScheduler
from video_service.edge.settings import EdgeSettings
from video_service.edge.takeover import continue_from_bucket
from video_service.edge.watcher import SegmentWatcher
from video_service.shared.ownership import (
    ALIVE_BEAT_S,
    Owner,
    Ownership,
    beat_alive,
    leave_alive,
    owner_of,
    parse_taken,
    pulled_by,
)
from video_service.shared.recording_index import RecordingIndex
from workers.base import redis_keys
from workers.base.errors import StorageRefused
from workers.base.layout import MediaLayout
from workers.base.metrics import edge_metrics
from workers.base.notices import hear
from workers.base.secrets import origin_secret
from workers.base.spool import Uploads, open_uploads
from workers.base.storage import S3Storage, Storage
from workers.queue.activity import IngestRate, beat_edge

log = logging.getLogger(__name__)

PUBLIC_METHODS = "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER"
CLOSE_WAIT_S = 20.0
EDGE_BEAT_S = 5.0
BUCKET_FAULTS: tuple[type[Exception], ...] = (*TRANSIENT, StorageRefused)


class Edge:
    def __init__(
        self,
        settings: EdgeSettings,
        directory: CameraDirectory,
        events: EventSink,
        scheduler: LadderScheduler | None = None,
        *,
        recordings: RecordingIndex | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        """`scheduler`: None records only (no ladder is scheduled). `recordings`: the index
        each stored segment is added to (and retention removes from); None keeps none.
        `ownership`: the cameras' leases shared with other edges
        (video_service/shared/ownership.py); None: this edge alone."""
        self._settings = settings
        self._directory = directory
        self._events = events
        self._scheduler = scheduler
        self._recordings = recordings
        self._ownership = ownership
        self._held: dict[str, Owner] = {}  # the cameras' leases this edge holds now
        self._deaf = threading.Event()  # set: stop hearing notices (workers.base.notices)
        self._hearing: threading.Thread | None = None
        self._alive: list[str] = []  # the live edges, as last heard (pull cameras' shares)
        self._pokes: dict[str, asyncio.Event] = {}  # set: check the camera is enabled now
        # Takes by other edges heard while this edge's own take was on its way: the token.
        self._overtaken: dict[str, int] = {}
        self._refusals = Refusals(events)
        self._auth = Authenticator(directory, self._refusals, settings.rtsp_realm)
        self._layout = MediaLayout(settings.media_root)
        self._uploads: Uploads = open_uploads(
            settings.s3_bucket, settings.s3_endpoint_url, settings.state_dir, "edge"
        )
        self._live: dict[str, PublishSession] = {}
        # The bucket, read when a camera comes here that another edge recorded (takeover.py).
        self._bucket: Storage | None = (
            S3Storage.connect(settings.s3_endpoint_url, settings.s3_bucket)
            if settings.s3_bucket
            else None
        )
        self.live_feeds = LiveFeeds()  # the frames of the cameras publishing here
        self.whep: WhepService | None = None  # while serve_live_view's server runs
        self._stop_whep: Callable[[], Awaitable[None]] | None = None
        self.disk = DiskGuard(
            settings.media_root,
            events,
            low_bytes=settings.disk_low_bytes,
            stop_bytes=settings.disk_stop_bytes,
            on_full=self._stop_recording,
        )
        self._watchers: dict[str, SegmentWatcher] = {}
        self._pulls: PullSupervisor | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def live_cameras(self) -> list[str]:
        return sorted(self._live)

    def online_count(self) -> int:
        """Cameras recording here now: publishers and pulled cameras."""
        return len(self._live) + (len(self._pulls.online) if self._pulls else 0)

    def _count_online(self) -> None:
        edge_metrics().cameras_online.set(self.online_count())

    def source_dir(self, camera_id: str) -> Path:
        return self._layout.source_dir(camera_id)

    async def start(self, host: str | None = None, port: int | None = None) -> asyncio.Server:
        if self._ownership is not None:  # the live edges known before any pull starts
            with contextlib.suppress(*TRANSIENT):
                self._alive = await asyncio.to_thread(
                    beat_alive, self._ownership.client, self._ownership.edge, time.time()
                )
            self._spawn(self._beat_alive_forever(self._ownership))
            soon = asyncio.get_running_loop().call_soon_threadsafe
            handlers = {
                redis_keys.CAMERA_TAKEN: lambda text: soon(self._taken, text),
                redis_keys.CAMERA_CHANGED: lambda text: soon(self._changed, text),
            }
            self._hearing = threading.Thread(
                target=hear, args=(self._ownership.client, handlers, self._deaf),
                name="sparc-notices", daemon=True,
            )  # fmt: skip
            self._hearing.start()
        if self._scheduler is not None:
            self._spawn(self._scheduler.drain_outcomes_forever())
        self._spawn(sweep_forever(self._settings, self._uploads, self._recordings))
        self._spawn(self._refusals.flush_forever())
        await asyncio.to_thread(self.disk.check)
        self._spawn(self.disk.watch_forever())
        pulls = self._pulls = PullSupervisor(
            self._settings,
            self._directory,
            self._events,
            self._watcher_for,
            self._spawn,
            lambda: self.disk.recording_allowed,
            share=self._pulls_here,
            prepare=self._moved_here,
        )
        self._spawn(pulls.run())
        server = await asyncio.start_server(
            self._handle,
            host or self._settings.rtsp_host,
            self._settings.rtsp_port if port is None else port,
            limit=MAX_HEAD,
        )
        if self._scheduler is not None:
            bound = server.sockets[0].getsockname()[1]
            name = f"{socket.gethostname()}:{bound}"
            self._spawn(self._beat_forever(self._scheduler.redis, name))
        return server

    async def serve_live_view(self, host: str | None = None, port: int | None = None) -> int:
        """Serve live view (WHEP) beside the RTSP port; the port it listens on."""
        settings = self._settings
        self.whep = WhepService(
            self.live_feeds,
            OriginSigner(await asyncio.to_thread(origin_secret, settings)),
            max_viewers=settings.webrtc_max_viewers,
            ice_servers=ice_servers(settings),
            hosts=host_plan(settings.webrtc_interface, settings.webrtc_udp_ports),
        )
        bound, self._stop_whep = await serve_whep(
            self.whep, host or settings.whep_host, settings.whep_port if port is None else port
        )
        return bound

    async def _beat_alive_forever(self, ownership: Ownership) -> None:
        """Say this edge is alive, and learn which are: pull cameras are shared by them."""
        while True:
            with contextlib.suppress(*TRANSIENT):  # Redis away: the last view holds
                self._alive = await asyncio.to_thread(
                    beat_alive, ownership.client, ownership.edge, time.time()
                )
            await asyncio.sleep(ALIVE_BEAT_S)

    def _changed(self, camera_id: str) -> None:
        """The control plane changed a camera: if it records here, it is checked now."""
        poke = self._pokes.get(camera_id)
        if poke is not None:
            poke.set()
        if self._pulls is not None:
            self._pulls.refresh_now()

    def _pulls_here(self, camera_id: str) -> bool:
        """Whether this edge pulls the camera: alone, always; else its rendezvous share."""
        if self._ownership is None:
            return True
        edges = sorted({*self._alive, self._ownership.edge})
        return pulled_by(camera_id, edges) == self._ownership.edge

    async def _moved_here(self, camera: CameraAuth) -> None:
        """Before pulling a camera: take it (an edge still pulling it, its share not yet
        moved, hears the take and stops), and go on numbering from the bucket."""
        await self._take(camera.id)
        stored = await self._continue_from_bucket(camera.id)
        self._watcher_for(camera).uploaded.update(stored)

    async def _beat_forever(self, client: redis.Redis, name: str) -> None:
        """For the pools view: this edge's cameras and ingest rate, in Redis every few s."""
        rate = IngestRate()
        while True:
            self._count_online()  # pulled cameras come and go on their own
            with contextlib.suppress(*TRANSIENT):
                await asyncio.to_thread(
                    beat_edge, client, name, self.online_count(), rate.rate(INGESTED.total) * 8
                )
            await asyncio.sleep(EDGE_BEAT_S)

    async def close(self) -> None:
        """Stop every publisher, recorder and puller, and wait until their processes exit."""
        self._deaf.set()
        if self._hearing is not None:
            await asyncio.to_thread(self._hearing.join, 5)
        if self._ownership is not None:
            with contextlib.suppress(*TRANSIENT):  # else its beat lapses by itself
                await asyncio.to_thread(leave_alive, self._ownership.client, self._ownership.edge)
        if self._stop_whep is not None:
            await self._stop_whep()
        for session in list(self._live.values()):
            session.stop()
        for session in list(self._live.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.done.wait(), CLOSE_WAIT_S)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.to_thread(self._uploads.close)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        try:
            if self._refusals.shut_out(address):
                return  # refused too often of late: closed unread, at no cost to us
            await self._converse(reader, writer, address)
        except BadMessage as error:
            self._refusals.note(address)
            await send(writer, response(400, "Bad Request", None, ("X-Reason", str(error))))
        except (TimeoutError, ConnectionError):
            self._refusals.note(address)  # a client that stalls or vanishes is dropped
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str
    ) -> None:
        while True:
            request = await asyncio.wait_for(read_message(reader), self._settings.request_timeout_s)
            if request is None:
                return
            if request.status:
                raise BadMessage("a client sent a response")
            cseq = request.header("CSeq")
            if request.method == "OPTIONS":
                await send(writer, response(200, "OK", cseq, ("Public", PUBLIC_METHODS)))
            elif request.method == "ANNOUNCE" and not self.disk.recording_allowed:
                reason = ("X-Reason", "the recording disk is full")
                await send(writer, response(453, "Not Enough Bandwidth", cseq, reason))
            elif request.method == "ANNOUNCE":
                try:
                    camera = await self._auth.authorize(request, address)
                except Refused as refused:
                    await send(writer, refused.answer)
                    continue
                await self._publish(camera, request, reader, writer)
                return
            elif request.method in ("DESCRIBE", "PLAY"):
                await send(writer, response(405, "Method Not Allowed", cseq,
                                            ("Allow", PUBLIC_METHODS)))  # fmt: skip
            else:
                await send(writer, response(455, "Method Not Valid in This State", cseq))

    async def _publish(
        self,
        camera: CameraAuth,
        announce: Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """A second publisher for a live camera replaces the first: a camera that reconnects
        after a network fault often does so before its old connection has timed out."""
        previous = self._live.get(camera.id)
        if previous is not None:
            log.info("camera %s publishes again: the new publisher replaces the old", camera.id)
            previous.stop()
            await previous.done.wait()
        feed = self.live_feeds.open(camera.id)
        session = PublishSession(self._settings, camera, reader, writer, feed)
        self._live[camera.id] = session
        self._count_online()
        stored = await self._continue_from_bucket(camera.id)
        watcher = self._watcher_for(camera)
        watcher.uploaded.update(stored)
        watching = self._spawn(watcher.run())
        guard = self._spawn(
            cut_when_disabled(
                self._directory, self._events, camera, self._settings.enabled_check_s,
                session.stop, self._pokes.setdefault(camera.id, asyncio.Event()),
            )
        )  # fmt: skip

        async def online() -> None:
            await report(self._events, EventType.CAMERA_ONLINE, camera)

        owned = await self._take(camera.id)
        if owned is not None:
            self._held[camera.id] = owned
            if self._overtaken.pop(camera.id, 0) > owned.token:  # taken while taking
                session.taken_over = True
                session.stop()
        holding = self._spawn(self._hold(owned, session)) if owned is not None else None
        try:
            await session.run(announce, online)
        finally:
            if holding is not None:
                holding.cancel()
                await asyncio.gather(holding, return_exceptions=True)
                await self._release(camera.id)
            self.live_feeds.close(feed)
            guard.cancel()
            watching.cancel()
            if not session.taken_over:  # else the new owner's numbering goes on after ours
                await watcher.announce()  # the last segment, closed as the recorder finished
            if self._live.get(camera.id) is session:
                del self._live[camera.id]
                self._count_online()
            await report(self._events, EventType.CAMERA_OFFLINE, camera)
            session.done.set()

    async def _continue_from_bucket(self, camera_id: str) -> list[str]:
        """The bucket's playlist of a camera another edge recorded last (takeover.py)."""
        if self._bucket is None:
            return []
        outdir = self._layout.source_dir(camera_id)
        try:
            return await asyncio.to_thread(continue_from_bucket, self._bucket, camera_id, outdir)
        except BUCKET_FAULTS as error:
            log.warning("camera %s: the bucket's playlist could not be read (%s); its segment "
                        "numbers may start again", camera_id, error)  # fmt: skip
            return []

    async def _take(self, camera_id: str) -> Owner | None:
        """The camera is this edge's now (another edge's publisher of it is cut off when
        that edge next renews). Redis away: recording goes on without a lease."""
        if self._ownership is None:
            return None
        try:
            return await asyncio.to_thread(self._ownership.take, camera_id)
        except TRANSIENT as error:
            log.warning("camera %s records without an ownership lease: %s", camera_id, error)
            return None

    async def _hold(self, owned: Owner, session: PublishSession) -> None:
        """Renew the camera's lease while it publishes here. Taken by another edge: this
        publisher is cut off. Lapsed (Redis restarted empty, or away past the lease): taken
        again, with a new token."""
        ownership = self._ownership
        assert ownership is not None
        while True:
            await asyncio.sleep(ownership.ttl_s / 3)
            try:
                if await asyncio.to_thread(ownership.renew, owned):
                    continue
                now = await asyncio.to_thread(owner_of, ownership.client, owned.camera_id)
                if now is None:
                    owned = await asyncio.to_thread(ownership.take, owned.camera_id)
                    self._held[owned.camera_id] = owned
                    continue
            except TRANSIENT:
                continue  # Redis away a moment: recording goes on
            log.warning("camera %s was taken over by edge %s: its publisher here is cut off",
                        owned.camera_id, now.edge)  # fmt: skip
            session.taken_over = True
            session.stop()
            return

    def _taken(self, notice: str) -> None:
        """Another edge took a camera (heard at once, `workers.base.notices`): its publisher here
        is cut off now, and what its recorder closes from here on is not stored (a stale
        write: the new owner numbers its segments after what the bucket held when it took
        the camera)."""
        owner = parse_taken(notice)
        ownership = self._ownership
        if owner is None or ownership is None or owner.edge == ownership.edge:
            return
        session = self._live.get(owner.camera_id)
        if session is None:
            if self._pulls is not None and owner.camera_id in self._pulls.pulling:
                log.warning("pull camera %s was taken by edge %s: not pulled here",
                            owner.camera_id, owner.edge)  # fmt: skip
                self._pulls.drop(owner.camera_id, hold_off_s=2 * ALIVE_BEAT_S)
            return
        held = self._held.get(owner.camera_id)
        if held is None:  # this edge's own take is on its way: settled when it returns
            heard = self._overtaken.get(owner.camera_id, 0)
            self._overtaken[owner.camera_id] = max(heard, owner.token)
            return
        if owner.token <= held.token:
            return
        log.warning("camera %s was taken over by edge %s: its publisher here is cut off",
                    owner.camera_id, owner.edge)  # fmt: skip
        session.taken_over = True
        session.stop()

    async def _release(self, camera_id: str) -> None:
        """The publisher left: the camera is free at once (unless another edge has it)."""
        owned = self._held.pop(camera_id, None)
        if owned is not None and self._ownership is not None:
            with contextlib.suppress(*TRANSIENT):  # else it lapses by itself
                await asyncio.to_thread(self._ownership.release, owned)

    def _stop_recording(self) -> None:
        """The disk is full: every publisher is cut off, and its recorder closes its segment
        (pull cameras wait by themselves: `PullSupervisor`)."""
        for session in list(self._live.values()):
            session.stop()

    def _watcher_for(self, camera: CameraAuth) -> SegmentWatcher:
        """The camera's watcher: one per camera for the edge's life (see watcher.py)."""
        watcher = self._watchers.get(camera.id)
        if watcher is not None:  # recorded here before: a reconnect, a pull retried
            edge_metrics().recorder_restarts.inc()
        if watcher is None or watcher.camera != camera:
            source = self._layout.source_dir(camera.id)
            replacing = SegmentWatcher(
                camera, source, self._uploads, self._scheduler, self._recordings
            )
            if watcher is not None:  # what storage holds carries over
                replacing.uploaded = watcher.uploaded
                replacing.unindexed = watcher.unindexed
            watcher = replacing
            self._watchers[camera.id] = watcher
        return watcher

    def _spawn(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(log_unexpected)
        return task
