"""Events as they are written, for dashboards: one reader per process polls the database for
rows newer than the last it saw (twice a second, only while someone listens) and hands each
to every listener whose filter it matches. A listener that falls more than `QUEUE` events
behind is dropped (its client reconnects with Last-Event-ID and resumes)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from video_service.api.events import EventFilter, last_event_id, newer_events
from video_service.api.schemas import EventPublic

log = logging.getLogger(__name__)
POLL_S = 0.5
QUEUE = 2000
BATCH = 1000


@dataclass(eq=False)
class Listener:
    where: EventFilter
    queue: "asyncio.Queue[EventPublic | None]" = field(default_factory=lambda: asyncio.Queue(QUEUE))

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
    def __init__(self, sessions: "sessionmaker[Session]") -> None:
        self._sessions = sessions
        self._listeners: set[Listener] = set()
        self._reader: asyncio.Task[None] | None = None
        self._last = 0

    async def listen(self, where: EventFilter, after: int | None) -> AsyncIterator[EventPublic]:
        """Events matching `where`, from after `after` (a Last-Event-ID) or from now."""
        listener = Listener(where)
        if after is not None:
            for event in await run_in_threadpool(self._read, after):
                if listener.wants(event):
                    yield event
        await self._start()
        self._listeners.add(listener)
        try:
            while (next_event := await listener.queue.get()) is not None:
                yield next_event
        finally:
            self._listeners.discard(listener)

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
        while self._listeners:
            try:
                fresh = await run_in_threadpool(self._read, self._last)
            except (SQLAlchemyError, OSError) as error:  # the database away: say so, retry
                log.warning("event stream: reading new events failed: %s", error)
                await asyncio.sleep(POLL_S * 4)
                continue
            for event in fresh:
                self._last = max(self._last, event.id)
                for listener in list(self._listeners):
                    if listener.wants(event):
                        self._offer(listener, event)
            if len(fresh) < BATCH:
                await asyncio.sleep(POLL_S)

    def _offer(self, listener: Listener, event: EventPublic) -> None:
        try:
            listener.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._listeners.discard(listener)
            with contextlib.suppress(asyncio.QueueEmpty):
                listener.queue.get_nowait()
            listener.queue.put_nowait(None)  # the end: too slow

    def _read(self, after: int) -> list[EventPublic]:
        with self._sessions() as session:
            return [EventPublic.model_validate(e) for e in newer_events(session, after, BATCH)]

    def _newest(self) -> int:
        with self._sessions() as session:
            return last_event_id(session)
