"""One reader of each camera, any number of live viewers: the camera's frames go to every
viewer's own bounded queue. A viewer starts on a keyframe; one that falls behind (its queue
full) loses what it holds and starts again at the next keyframe, so a slow viewer never slows
the camera or another viewer, and never sees the grey of a frame without its references.

Everything here runs on the edge's event loop: no locks.
"""

import asyncio
from collections import deque
from typing import TypeVar

from video_service.edge.errors import FeedEnded, LiveViewRefused
from video_service.edge.live_view.h264 import AccessUnit

T = TypeVar("T")
MAX_QUEUED = 30  # frames (a second at 30 fps): more behind than this, skip to a keyframe
MAX_AUDIO_QUEUED = 50  # audio packets (a second at 20 ms each): more, the oldest go
PUBLISHER_GONE = "the camera stopped publishing"


class Viewer:
    def __init__(self, limit: int = MAX_QUEUED) -> None:
        self._queue: deque[AccessUnit] = deque()
        self._ready = asyncio.Event()
        self._limit = limit
        self._waiting = True  # for a keyframe
        self.started = False  # the first keyframe came
        self.skips = 0  # times it fell behind and skipped to a keyframe
        self.ended: str | None = None
        self._audio: deque[tuple[int, bytes]] = deque(maxlen=MAX_AUDIO_QUEUED)
        self._audio_ready = asyncio.Event()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def offer(self, unit: AccessUnit) -> None:
        if self.ended is not None:
            return
        if not self._waiting and len(self._queue) >= self._limit:
            self._queue.clear()
            self.skips += 1
            self._waiting = True
        if self._waiting:
            if not unit.keyframe:
                return
            self._waiting = False
            self.started = True
        self._queue.append(unit)
        self._ready.set()

    def offer_audio(self, timestamp: int, payload: bytes) -> None:
        """Audio from the first keyframe on (picture and sound start together)."""
        if self.ended is None and self.started:
            self._audio.append((timestamp, payload))
            self._audio_ready.set()

    async def next_audio(self) -> tuple[int, bytes]:
        return await self._next(self._audio, self._audio_ready)

    async def next(self) -> AccessUnit:
        return await self._next(self._queue, self._ready)

    async def _next(self, queue: "deque[T]", ready: asyncio.Event) -> T:
        """The oldest queued item, waiting for one; FeedEnded once the feed ends."""
        while not queue:
            if self.ended is not None:
                raise FeedEnded(self.ended)
            ready.clear()
            await ready.wait()
        return queue.popleft()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self._ready.set()
        self._audio_ready.set()


class LiveFeed:
    """One camera's frames while it publishes to this edge."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.viewers: set[Viewer] = set()
        self.refusal: str | None = None
        self.closed = False
        # The camera's audio as the browser names it, with its clock, where WebRTC carries
        # it as it is; else why live view is silent.
        self.audio_codec: tuple[str, int] | None = None
        self.audio_note: str | None = None
        self._keyframe_waiters: list[asyncio.Future[AccessUnit]] = []

    @property
    def watched(self) -> bool:
        """Someone wants its frames: a viewer, or a still picture waiting for a keyframe."""
        return bool(self.viewers) or bool(self._keyframe_waiters)

    async def next_keyframe(self, timeout_s: float) -> AccessUnit:
        """The next keyframe the camera sends (its frames are rebuilt only until then);
        TimeoutError after `timeout_s`, LiveViewRefused for a feed that cannot give one."""
        if self.refusal is not None or self.closed:
            raise LiveViewRefused(self.refusal or PUBLISHER_GONE)
        waiter: asyncio.Future[AccessUnit] = asyncio.get_running_loop().create_future()
        self._keyframe_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        finally:
            if waiter in self._keyframe_waiters:
                self._keyframe_waiters.remove(waiter)

    def join(self, limit: int = MAX_QUEUED) -> Viewer:
        if self.refusal is not None:
            raise LiveViewRefused(self.refusal)
        if self.closed:
            raise LiveViewRefused(PUBLISHER_GONE)
        viewer = Viewer(limit)
        self.viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        viewer.end("the viewer left")

    def publish(self, unit: AccessUnit) -> None:
        for viewer in self.viewers:
            viewer.offer(unit)
        if unit.keyframe and self._keyframe_waiters:
            waiters, self._keyframe_waiters = self._keyframe_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(unit)

    def publish_audio(self, timestamp: int, payload: bytes) -> None:
        for viewer in self.viewers:
            viewer.offer_audio(timestamp, payload)

    def refuse(self, reason: str) -> None:
        """The stream cannot be relayed (B-frames, another codec): every viewer is cut off."""
        self.refusal = reason
        self._end_all(reason)

    def close(self) -> None:
        self.closed = True
        self._end_all(PUBLISHER_GONE)

    def _end_all(self, reason: str) -> None:
        for viewer in list(self.viewers):
            viewer.end(reason)
        self.viewers.clear()
        waiters, self._keyframe_waiters = self._keyframe_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(LiveViewRefused(reason))


class LiveFeeds:
    """The feeds of the cameras publishing to this edge now."""

    def __init__(self) -> None:
        self._feeds: dict[str, LiveFeed] = {}

    def open(self, camera_id: str) -> LiveFeed:
        previous = self._feeds.get(camera_id)
        if previous is not None:
            previous.close()
        feed = self._feeds[camera_id] = LiveFeed(camera_id)
        return feed

    def close(self, feed: LiveFeed) -> None:
        feed.close()
        if self._feeds.get(feed.camera_id) is feed:
            del self._feeds[feed.camera_id]

    def get(self, camera_id: str) -> LiveFeed | None:
        return self._feeds.get(camera_id)

    def viewer_count(self) -> int:
        """Places taken in the feeds: a live-view broadcast holds one for all its camera's
        viewers (their count is the WHEP service's sessions)."""
        return sum(len(feed.viewers) for feed in self._feeds.values())
