"""What the edge's camera sessions have in common, whichever stream they carry (a recorded
main stream: `publishers`; a relayed sub-stream: `sub_streams`, `sub_pull`): one session a
camera, a new one replacing the one before, a poke that has the camera's guard look at it
now, a stop of them all that waits for each to end; and what a live stream is, told in
Redis for the API (`video_service.shared.streams`) while its session lasts."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraDirectory
from video_service.edge.events import EventSink
from video_service.edge.faults import TRANSIENT
from video_service.edge.live_view.fanout import LiveFeed, LiveFeeds
from video_service.edge.live_view.tap import CameraTap
from video_service.shared.streams import StreamFacts, clear_facts, write_facts

log = logging.getLogger(__name__)
# An unwatched sub-stream is only skimmed (its requests answered, its first packets checked
# for B-frames): read a fifth of a second at a time rather than packet by packet, it costs
# the event loop a few wake-ups a second instead of dozens. A viewer, or a still picture
# waiting for a keyframe, makes it watched: read at once again within that fifth.
UNWATCHED_READ_S = 0.2
# The facts outlive an edge that dies only this long; the API shows them only while the
# stream's lease is held.
FACTS_TTL_S = 24 * 3600.0


class Stoppable(Protocol):
    done: asyncio.Event

    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


class CameraSessions(Generic[S]):
    def __init__(
        self, directory: CameraDirectory, events: EventSink, leases: CameraLeases, feeds: LiveFeeds
    ) -> None:
        self._directory = directory
        self._events = events
        self._leases = leases
        self._feeds = feeds
        self.live: dict[str, S] = {}  # by camera id
        self._pokes: dict[str, asyncio.Event] = {}  # set: check the camera is enabled now

    async def end_previous(self, camera_id: str, what: str) -> None:
        """End the camera's session before this one, and wait until it is gone (two
        replacements at once end one after the other)."""
        while (previous := self.live.get(camera_id)) is not None:
            log.info("camera %s sends its %s again: the new one replaces the old",
                     camera_id, what)  # fmt: skip
            previous.stop()
            await previous.done.wait()

    def poke_event(self, camera_id: str) -> asyncio.Event:
        """What the camera's guard waits on besides its interval."""
        return self._pokes.setdefault(camera_id, asyncio.Event())

    def poke(self, camera_id: str) -> None:
        """The camera changed: its guard looks at it now."""
        poke = self._pokes.get(camera_id)
        if poke is not None:
            poke.set()

    def forget(self, camera_id: str, session: S) -> None:
        if self.live.get(camera_id) is session:
            del self.live[camera_id]

    def stop_all(self) -> None:
        for session in list(self.live.values()):
            session.stop()

    async def close(self, wait_s: float) -> None:
        """Cut every session off, and wait for each to end."""
        await stop_and_wait(list(self.live.values()), wait_s)


async def stop_and_wait(sessions: Sequence[Stoppable], wait_s: float) -> None:
    """Stop each session, then wait for each to be done (at most `wait_s` each)."""
    for session in sessions:
        session.stop()
    for session in sessions:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.done.wait(), wait_s)


async def tell_facts(
    leases: CameraLeases, stream_id: str, tap: CameraTap, edge: str, session: str
) -> None:
    """Say in Redis what the stream is (codec, size from its SPS), while `session` lasts."""
    if leases.ownership is None or tap.track is None:
        return
    width, height = tap.size or (None, None)
    facts = StreamFacts(tap.track.codec, width, height, edge, session)
    with contextlib.suppress(*TRANSIENT):
        await asyncio.to_thread(write_facts, leases.ownership.client, stream_id, facts, FACTS_TTL_S)


async def forget_facts(leases: CameraLeases, stream_id: str, session: str) -> None:
    """The stream's facts are gone, if `session` is the one that told them."""
    if leases.ownership is not None:
        with contextlib.suppress(*TRANSIENT):
            await asyncio.to_thread(clear_facts, leases.ownership.client, stream_id, session)


async def unhurried(feed: LiveFeed) -> None:
    """Before the next read of a relayed-only stream: a pause while no one watches it."""
    if not feed.watched:
        await asyncio.sleep(UNWATCHED_READ_S)


class Silence:
    """The session's task is cut (TimeoutError where it is entered) once `idle_s` pass with
    nothing `heard`: one timer for the whole session, moved on only when it fires (and set
    again after a cut, in case the body swallowed it). A timer for each read
    (`asyncio.timeout`, before it `asyncio.wait_for`'s task and future) put an entry on the
    event loop's heap and looked up the running loop for every read, dozens a second for a
    watched sub-stream."""

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self._loop = asyncio.get_running_loop()
        self._heard = self._loop.time()
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._timer: asyncio.TimerHandle | None = None
        self._cuts = 0  # the cancels it asked for

    async def __aenter__(self) -> "Silence":
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Silence is entered in a task")
        self._task, self._cancelling = task, task.cancelling()
        self.heard()
        self._timer = self._loop.call_at(self._heard + self.idle_s, self._check)
        return self

    def heard(self) -> None:
        """Something came: the silence starts again."""
        self._heard = self._loop.time()

    def _check(self) -> None:
        due = self._heard + self.idle_s
        now = self._loop.time()
        if now < due:  # heard since the timer was set: set it for then
            self._timer = self._loop.call_at(due, self._check)
        elif self._task is not None:
            self._cuts += 1
            self._task.cancel()
            # again later, should something in the body swallow the cancel (3.11's wait_for
            # may, where what it waits for finishes in the same pass)
            self._timer = self._loop.call_at(now + self.idle_s, self._check)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: object
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        # as asyncio.timeout: the cancel that was ours (and only ours) becomes TimeoutError
        left = None  # the task's cancels once its own are taken back
        if self._task is not None:
            for _ in range(self._cuts):
                left = self._task.uncancel()
        ours = left is not None and left <= self._cancelling
        if ours and kind is asyncio.CancelledError:
            raise TimeoutError(f"nothing came for {self.idle_s:g} s") from error
