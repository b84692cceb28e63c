"""The recording disk: say when it runs low, and stop recording, cleanly, before it is full.

FFmpeg does not stop at a full disk: it goes on, writing empty segments and an empty live
playlist and listing them as recorded. So the edge looks first: below `disk_low_bytes` free
it says so (an event, a warning, once per episode); below `disk_stop_bytes` it stops its
recorders, which close their segments whole, and refuses publishers ("453 Not Enough
Bandwidth": the space is the bandwidth it lacks) and pauses pull cameras, until the free
space is back above `disk_low_bytes`.
"""

import asyncio
import logging
import shutil
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from video_service.edge.events import EventSink, EventType, NewEvent, record_or_log
from video_service.edge.metrics import edge_metrics

log = logging.getLogger(__name__)
CHECK_EVERY_S = 2.0


class DiskState(StrEnum):
    OK = "ok"
    LOW = "low"
    FULL = "full"  # below the stop line: not recording


def disk_state(free: int, *, low: int, stop: int, previous: DiskState) -> DiskState:
    """With hysteresis: once stopped, recording resumes only above the low line."""
    if free < stop:
        return DiskState.FULL
    if previous is DiskState.FULL and free < low:
        return DiskState.FULL
    return DiskState.LOW if free < low else DiskState.OK


class DiskGuard:
    def __init__(
        self,
        root: Path,
        events: EventSink,
        *,
        low_bytes: int,
        stop_bytes: int,
        on_full: Callable[[], None],
        free_bytes: Callable[[Path], int] = lambda path: shutil.disk_usage(path).free,
    ) -> None:
        self._root = root
        self._events = events
        self._low = low_bytes
        self._stop = stop_bytes
        self._on_full = on_full
        self._free_bytes = free_bytes
        self.state = DiskState.OK
        self.free = 0

    @property
    def recording_allowed(self) -> bool:
        return self.state is not DiskState.FULL

    def check(self) -> DiskState:
        self._root.mkdir(parents=True, exist_ok=True)
        self.free = self._free_bytes(self._root)
        edge_metrics().disk_free_bytes.set(self.free)
        state = disk_state(self.free, low=self._low, stop=self._stop, previous=self.state)
        if state is not self.state:
            self._changed(state)
        return state

    def _changed(self, state: DiskState) -> None:
        previous, self.state = self.state, state
        mb = self.free // (1024 * 1024)
        if state is DiskState.FULL:
            log.error("the recording disk has %d MB free: recording stops until it has more", mb)
            self._on_full()
        elif state is DiskState.LOW:
            log.warning("the recording disk is low: %d MB free", mb)
        else:
            log.info("the recording disk has room again: %d MB free", mb)
        detail: dict[str, object] = {"state": state.value, "was": previous.value,
                                     "free_bytes": self.free}  # fmt: skip
        record_or_log(self._events, [NewEvent(EventType.DISK_SPACE, None, None, detail)])

    async def watch_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.check)
            except OSError as error:
                log.warning("cannot read the recording disk's free space: %s", error)
            await asyncio.sleep(CHECK_EVERY_S)
