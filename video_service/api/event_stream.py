"""Events as they are written, for dashboards: one reader per process polls the database for
rows newer than the last it saw (twice a second, only while someone listens) and hands each
to the listeners whose filter it matches. Listeners are kept by site, so an event is matched
against its own site's listeners and the all-sites (admin) ones only: a thousand listeners
of one site cost nothing while another site posts thousands of events a second. A listener
that falls more than `QUEUE` events behind is dropped (its client reconnects with
Last-Event-ID and resumes).

A process keeps at most `event_streams_max` streams open (503 past it) and a key at most
`event_streams_per_key` (429). Every `RECHECK_S` a stream asks whether its caller may still
have it (`still_allowed`: the key revoked or expired, the site taken away) and ends if not.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from video_service.api.errors import ServiceUnavailable, TooManyRequests
from video_service.api.events import EventFilter, last_event_id, newer_events
from video_service.api.schemas import EventPublic

log = logging.getLogger(__name__)
POLL_S = 0.5
QUEUE = 2000
BATCH = 1000
RECHECK_S = 2.0
StillAllowed = Callable[[], Awaitable[bool]]


@dataclass(eq=False)
class Listener:
    where: EventFilter
    queue: "asyncio.Queue[EventPublic | None]" = field(default_factory=lambda: asyncio.Queue(QUEUE))

    @property
    def sites(self) -> frozenset[str | None]:
        """The sites whose events it may want; None: every site's (an admin's)."""
        if self.where.site_id is not None:
            return frozenset({self.where.site_id})
        if self.where.site_ids is not None:
            return frozenset(self.where.site_ids)
        return frozenset({None})

    def wants(self, event: EventPublic) -> bool:
        where = self.where
        return (
            (where.camera_id is None or event.camera_id == where.camera_id)
            and (where.site_id is None or event.site_id == where.site_id)
            and (where.type is None or event.type == where.type)
            and (where.site_ids is None or event.site_id in where.site_ids)
            and (where.since is None or event.at >= where.since)
            and (where.until is None or event.at < where.until)
        )


class EventStream:
    def __init__(
        self, sessions: "sessionmaker[Session]", *, max_streams: int = 2000, per_key: int = 10
    ) -> None:
        self._sessions = sessions
        self._by_site: dict[str | None, set[Listener]] = {}
        self._holders: Counter[str] = Counter()
        self._max = max_streams
        self._per_key = per_key
        self._reader: asyncio.Task[None] | None = None
        self._last = 0

    @property
    def listening(self) -> int:
        return sum(self._holders.values())

    def admit(self, holder: str) -> None:
        """Room for one more stream of `holder` (a key's digest), or the refusal."""
        if self.listening >= self._max:
            raise ServiceUnavailable("this node has as many event streams as it takes")
        if self._holders[holder] >= self._per_key:
            raise TooManyRequests(f"a key holds at most {self._per_key} event streams at once")

    async def listen(
        self, where: EventFilter, after: int | None, holder: str, still_allowed: StillAllowed
    ) -> AsyncIterator[EventPublic | None]:
        """Events matching `where`, from after `after` (a Last-Event-ID) or from now, for as
        long as `still_allowed()` (asked every `RECHECK_S`); None when a check found it
        still allowed with nothing to send (a keep-alive, to say the stream is there)."""
        listener: Listener | None = None
        with contextlib.suppress(ServiceUnavailable, TooManyRequests):
            self.admit(holder)  # its route asked already; others may have come meanwhile
            listener = Listener(where)
        if listener is None:
            return
        self._holders[holder] += 1
        try:
            if after is not None:
                for event in await run_in_threadpool(self._read, after):
                    if listener.wants(event):
                        yield event
            await self._start()
            self._add(listener)
            loop = asyncio.get_running_loop()
            checked = loop.time()
            while True:
                try:
                    found = await asyncio.wait_for(listener.queue.get(), RECHECK_S)
                    if found is None:
                        return  # dropped: it fell too far behind
                except TimeoutError:
                    found = None
                if loop.time() - checked >= RECHECK_S:
                    if not await still_allowed():
                        return
                    checked = loop.time()
                yield found
        finally:
            self._remove(listener)
            self._holders[holder] -= 1
            if self._holders[holder] <= 0:
                del self._holders[holder]

    def _add(self, listener: Listener) -> None:
        for site in listener.sites:
            self._by_site.setdefault(site, set()).add(listener)

    def _remove(self, listener: Listener) -> None:
        for site in listener.sites:
            listeners = self._by_site.get(site)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._by_site[site]

    async def _start(self) -> None:
        if self._reader is None or self._reader.done():
            self._last = await run_in_threadpool(self._newest)
            self._reader = asyncio.create_task(self._read_forever())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read_forever(self) -> None:
        while self._by_site:
            # Only the sites someone listens to, unless an admin listens to them all: what
            # nobody wants is neither read nor made into models.
            sites = None if None in self._by_site else [s for s in self._by_site if s]
            try:
                fresh, newest = await run_in_threadpool(self._read_newer, self._last, sites)
            except (SQLAlchemyError, OSError) as error:  # the database away: say so, retry
                log.warning("event stream: reading new events failed: %s", error)
                await asyncio.sleep(POLL_S * 4)
                continue
            everyone = self._by_site.get(None, set())
            for event in fresh:
                self._last = max(self._last, event.id)
                for listener in [*self._by_site.get(event.site_id, ()), *everyone]:
                    if listener.wants(event):
                        self._offer(listener, event)
            if len(fresh) < BATCH:
                self._last = max(self._last, newest)  # the others' events: passed over
                await asyncio.sleep(POLL_S)

    def _offer(self, listener: Listener, event: EventPublic) -> None:
        try:
            listener.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._remove(listener)
            with contextlib.suppress(asyncio.QueueEmpty):
                listener.queue.get_nowait()
            listener.queue.put_nowait(None)  # the end: too slow

    def _read(self, after: int) -> list[EventPublic]:
        with self._sessions() as session:
            return [EventPublic.model_validate(e) for e in newer_events(session, after, BATCH)]

    def _read_newer(self, after: int, sites: list[str] | None) -> tuple[list[EventPublic], int]:
        """The new events of `sites` (all: None), and the newest id of any site as it was
        before they were read."""
        with self._sessions() as session:
            newest = last_event_id(session)
            found = newer_events(session, after, BATCH, sites)
            return [EventPublic.model_validate(e) for e in found], newest

    def _newest(self) -> int:
        with self._sessions() as session:
            return last_event_id(session)
