"""The RTSP edge: one TCP port for every camera, a path per camera (`/cam/{id}`). `Edge`
coordinates the pieces: the RTSP port (`rtsp_door`), the publishers (`publishers`) and
sub-streams (`sub_streams`, `sub_pull`), the leases (`camera_leases`), this edge's share of
the pull cameras (`membership`, `pull`), notices from other nodes, live view (`live_view`),
still pictures, retention, the disk guard, and the ladder scheduler's job outcomes."""

import asyncio
import socket
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from video_service.edge.auth import Authenticator
from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraDirectory
from video_service.edge.disk import DiskGuard
from video_service.edge.events import EventSink
from video_service.edge.faults import log_unexpected
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.whep import WhepService, start_live_view
from video_service.edge.membership import Membership, tell_pools_view_forever
from video_service.edge.metrics import edge_metrics
from video_service.edge.publishers import Publishers
from video_service.edge.pull import PullSupervisor
from video_service.edge.refusals import Refusals
from video_service.edge.retention import sweep_forever
from video_service.edge.rtsp import MAX_HEAD
from video_service.edge.rtsp_door import RtspDoor
from video_service.edge.scheduler import LadderScheduler
from video_service.edge.settings import EdgeSettings
from video_service.edge.stills import Stills
from video_service.edge.sub_pull import SubStreamPuller
from video_service.edge.sub_streams import SubStreams
from video_service.edge.takeover import BucketHistory, take_pulled
from video_service.edge.watcher import Watchers
from video_service.shared.edges import ALIVE_BEAT_S
from video_service.shared.ownership import Ownership, parse_taken
from video_service.shared.recording_index import RecordingIndex
from workers.base import redis_keys
from workers.base.layout import MediaLayout
from workers.base.notices import Listener
from workers.base.spool import Uploads, open_uploads
from workers.base.storage import S3Storage, Storage

CLOSE_WAIT_S = 20.0


class Edge:
    def __init__(
        self,
        settings: EdgeSettings,
        directory: CameraDirectory,
        events: EventSink,
        uploads: Uploads,
        *,
        bucket: Storage | None = None,
        scheduler: LadderScheduler | None = None,
        recordings: RecordingIndex | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        """`bucket`: where a camera another edge recorded goes on from (None: the disk is the
        store); None for the others: no ladder, no index, this edge alone owning every camera."""
        self._settings = settings
        self._directory = directory
        self._events = events
        self._scheduler = scheduler
        self._recordings = recordings
        self._uploads = uploads
        self._leases = CameraLeases(ownership)
        self._membership = Membership.of(ownership)
        self._listener: Listener | None = None
        self._refusals = Refusals(events)
        layout = MediaLayout(settings.media_root)
        self._history = BucketHistory(bucket, layout)
        self._watchers = Watchers(layout, uploads, scheduler, recordings)
        self.live_feeds = LiveFeeds()  # the frames of the cameras publishing here
        edge_name = ownership.edge if ownership else socket.gethostname()
        self.publishers = Publishers(settings, directory, events, watchers=self._watchers,
                                     history=self._history, leases=self._leases,
                                     feeds=self.live_feeds, spawn=self._spawn,
                                     counted=self._count_online, edge=edge_name)  # fmt: skip
        self.sub_streams = SubStreams(settings, self._leases, self.live_feeds, directory, events,
                                      edge=edge_name)  # fmt: skip
        self._sub_pulls = SubStreamPuller(settings, self._leases, self.live_feeds, edge_name)
        self.whep: WhepService | None = None  # while serve_live_view's server runs
        self._stop_whep: Callable[[], Awaitable[None]] | None = None
        self.disk = DiskGuard(settings.media_root, events, low_bytes=settings.disk_low_bytes,
                              stop_bytes=settings.disk_stop_bytes,
                              on_full=self.publishers.stop_all)  # fmt: skip
        self.pulls: PullSupervisor | None = None
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def open(cls, settings: EdgeSettings, directory: CameraDirectory, events: EventSink, *,
             scheduler: LadderScheduler | None = None, recordings: RecordingIndex | None = None,
             ownership: Ownership | None = None) -> "Edge":  # fmt: skip
        """An edge with the storage its settings name: the bucket and a spool of uploads to
        it, or the local media root as the store."""
        bucket = settings.s3_bucket
        uploads = open_uploads(bucket, settings.s3_endpoint_url, settings.state_dir, "edge")
        stored = S3Storage.connect(settings.s3_endpoint_url, bucket) if bucket else None
        return cls(settings, directory, events, uploads, bucket=stored, scheduler=scheduler,
                   recordings=recordings, ownership=ownership)  # fmt: skip

    @property
    def live_cameras(self) -> list[str]:  # publishing here now
        return sorted(self.publishers.live)

    def online_count(self) -> int:
        """Cameras recording here now: publishers and pulled cameras."""
        return len(self.publishers.live) + (len(self.pulls.online) if self.pulls else 0)

    async def start(self, host: str | None = None, port: int | None = None) -> asyncio.Server:
        if (membership := self._membership) is not None:
            await membership.beat()  # the live edges known before any pull starts
            self._spawn(membership.beat_forever())
            soon = asyncio.get_running_loop().call_soon_threadsafe
            self._listener = Listener(membership.client, {
                redis_keys.CAMERA_TAKEN: lambda text: soon(self._taken, text),
                redis_keys.CAMERA_CHANGED: lambda text: soon(self._changed, text),
            })  # fmt: skip
            self._listener.start()
            self._spawn(Stills(membership.client, self.live_feeds).make_forever())
        if self._scheduler is not None:
            self._spawn(self._scheduler.drain_outcomes_forever())
        self._spawn(sweep_forever(self._settings, self._uploads, self._recordings))
        self._spawn(self._refusals.flush_forever())
        await asyncio.to_thread(self.disk.check)
        self._spawn(self.disk.watch_forever())
        take = partial(take_pulled, self._leases, self._history, self._watchers)
        self.pulls = PullSupervisor(self._settings, self._directory, self._events,
                                    self._watchers.for_camera, self._spawn,
                                    lambda: self.disk.recording_allowed,
                                    share=membership.pulls_here if membership else None,
                                    prepare=take, subs=self._sub_pulls)  # fmt: skip
        self._spawn(self.pulls.run())
        auth = Authenticator(self._directory, self._refusals, self._settings.rtsp_realm)
        door = RtspDoor(auth, self._refusals, lambda: self.disk.recording_allowed,
                        self.publishers.publish, self._settings.request_timeout_s,
                        self._settings.rtsp_max_connections,
                        publish_sub=self.sub_streams.publish)  # fmt: skip
        port = self._settings.rtsp_port if port is None else port
        host = host or self._settings.rtsp_host
        server = await asyncio.start_server(door.handle, host, port, limit=MAX_HEAD)
        if self._scheduler is not None:
            name = f"{socket.gethostname()}:{server.sockets[0].getsockname()[1]}"
            self._spawn(tell_pools_view_forever(self._scheduler.redis, name, self.online_count))
        return server

    async def serve_live_view(self, host: str | None = None, port: int | None = None) -> int:
        """Serve live view (WHEP) beside the RTSP port; the port it listens on."""
        self.whep, bound, self._stop_whep = await start_live_view(
            self._settings, self.live_feeds, host, port
        )
        return bound

    async def close(self) -> None:
        """Stop every publisher, recorder and puller, and wait until their processes exit."""
        if self._listener is not None:
            await asyncio.to_thread(self._listener.close)
        if self._membership is not None:
            await self._membership.leave()
        if self._stop_whep is not None:
            await self._stop_whep()
        await self.publishers.close(CLOSE_WAIT_S)
        await self.sub_streams.close(CLOSE_WAIT_S)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.to_thread(self._uploads.close)

    def _taken(self, notice: str) -> None:
        """Another edge took a camera: a publisher of it here is cut off now and stores no
        more (the new owner numbers after the bucket), a pull of it here is dropped."""
        owner = parse_taken(notice)
        if owner is None or not self._leases.is_other_edge(owner):
            return
        if self.sub_streams.taken(owner) or self.publishers.taken(owner):
            return
        if self.pulls is not None and owner.camera_id in self.pulls.pulling:
            self.pulls.drop(owner.camera_id, hold_off_s=2 * ALIVE_BEAT_S, by=owner.edge)

    def _changed(self, camera_id: str) -> None:
        """The control plane changed a camera: if it records here, it is checked now."""
        self.publishers.poke(camera_id)
        self.sub_streams.poke(camera_id)
        if self.pulls is not None:
            self.pulls.refresh_now()

    def _count_online(self) -> None:  # the gauge, when a camera comes or goes
        edge_metrics().cameras_online.set(self.online_count())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(log_unexpected)
        return task
