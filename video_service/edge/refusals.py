"""What a refused publisher costs: less to us than to it, and nothing to the camera's own
publisher.

- Per source address, refusals (unknown camera, wrong password, garbage, unknown methods, a
  client that stalls or asks too much before publishing) are counted in a sliding window;
  an address over `PER_ADDRESS` in `WINDOW_S` has its connections closed, and its further
  ones closed at once unread, until its count falls. The first ANNOUNCE without a password
  is not a refusal (it is how Digest starts, and a site's many cameras behind one address
  all begin so when they reconnect together): those are counted apart, up to
  `CHALLENGES_PER_ADDRESS` (each costs a look-up).
- Guessing is slowed per source, not per camera: an address with `GUESSES` wrong passwords
  in the window has each further wrong answer held `GUESS_PAUSE_S` on its own connection
  (it learns nothing sooner). A right password is checked first and answered at once, so a
  camera's own publisher never waits behind whoever is guessing its password.
- Events: the first refusal of a kind (camera or address, and reason) in a window is
  written at once; the rest of the window is one event with the count, written when the
  window closes. What an event keeps of a request is cut to `MAX_KEPT` characters, control
  characters replaced.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from video_service.edge.directory import CameraAuth
from video_service.edge.events import EventSink, EventType, NewEvent
from video_service.edge.faults import TRANSIENT, Streak

WINDOW_S = 10.0
PER_ADDRESS = 30
CHALLENGES_PER_ADDRESS = 600
GUESSES = 5
GUESS_PAUSE_S = 1.0
MAX_KEPT = 200
MAX_TRACKED = 100_000  # addresses and cameras remembered; past that the oldest go


def kept(text: str) -> str:
    """What an event may keep of something a client sent."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:MAX_KEPT])
    return clean + ("..." if len(text) > MAX_KEPT else "")


class Window:
    """Counts per key over the last `window_s` seconds."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def add(self, key: str) -> int:
        now = self._clock()
        times = self._times.setdefault(key, deque())
        times.append(now)
        self._trim(times, now)
        if len(self._times) > MAX_TRACKED:
            self._times.pop(next(iter(self._times)))
        return len(times)

    def count(self, key: str) -> int:
        times = self._times.get(key)
        if times is None:
            return 0
        self._trim(times, self._clock())
        if not times:
            del self._times[key]
        return len(times)

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self._window_s:
            times.popleft()


@dataclass
class _Pending:
    event: NewEvent
    count: int = 0
    since: float = field(default_factory=time.time)


class Refusals:
    def __init__(self, events: EventSink, clock: Callable[[], float] = time.monotonic) -> None:
        self._events = events
        self._by_address = Window(WINDOW_S, clock)
        self._challenges = Window(WINDOW_S, clock)
        self._guesses = Window(WINDOW_S, clock)
        self._pending: dict[tuple[str, str], _Pending] = {}

    def shut_out(self, address: str) -> bool:
        """Whether connections from this address are closed (unread) for now."""
        return (
            self._by_address.count(address) >= PER_ADDRESS
            or self._challenges.count(address) >= CHALLENGES_PER_ADDRESS
        )

    def guessing(self, address: str) -> bool:
        """Whether this address has been getting passwords wrong: its wrong answers wait."""
        return self._guesses.count(address) >= GUESSES

    def note(self, address: str) -> None:
        """A refusal not worth an event (garbage, an unknown method): it counts."""
        self._by_address.add(address)

    def challenged(self, address: str) -> None:
        """An ANNOUNCE without a password (how Digest starts): counted apart."""
        self._challenges.add(address)

    async def refuse(
        self, address: str, camera: CameraAuth | None, reason: str, **detail: str
    ) -> None:
        self._by_address.add(address)
        if reason == "wrong credentials":
            self._guesses.add(address)
        who = camera.id if camera is not None else address
        kept_detail = {name: kept(value) for name, value in detail.items()}
        event = NewEvent(
            EventType.PUBLISH_REFUSED,
            camera.id if camera else None,
            camera.site_id if camera else None,
            {"reason": reason, "address": address, **kept_detail},
        )
        pending = self._pending.get((who, reason))
        if pending is not None:
            pending.count += 1  # written with the window's count when it closes
            return
        self._pending[(who, reason)] = _Pending(event)
        await asyncio.to_thread(self._events.record, [event])

    async def flush_forever(self) -> None:
        streak = Streak("writing refusal events")
        while True:
            await asyncio.sleep(WINDOW_S)
            try:
                await self.flush()
            except TRANSIENT as error:
                streak.failed(error)  # those counts are lost; the next window is written
            else:
                streak.ok()

    async def flush(self) -> None:
        """Close the window: one event per kind refused again since its first."""
        pending, self._pending = self._pending, {}
        repeated = [
            NewEvent(p.event.type, p.event.camera_id, p.event.site_id,
                     {**p.event.detail, "repeated": p.count, "since": p.since})
            for p in pending.values()
            if p.count
        ]  # fmt: skip
        if repeated:
            await asyncio.to_thread(self._events.record, repeated)
