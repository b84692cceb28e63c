"""Record and read events: the pipeline's own (camera online and offline, refused publishes,
segments, ladder jobs, viewers), written by the edge and the scheduler (through
`directory.DatabaseEvents`) and by the playback API (through `EventBuffer`), and events from
outside (cameras, analytics, alarms, access control) posted in batches (`store_batch`).

Every write ends by calling `on_written` (the response cache's invalidation of `events`)."""

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, insert, select
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.metrics import api_metrics
from video_service.api.models import Event
from video_service.edge.events import EventType, NewEvent

Written = Callable[[], None]


def nothing() -> None:
    pass


log = logging.getLogger(__name__)
EVENTS = cast(Table, Event.__table__)
# Kept while the database is unreachable; past this the oldest go (and that is logged).
MAX_PENDING = 100_000


def record_event(
    session: Session,
    type_: EventType,
    *,
    camera_id: str | None = None,
    site_id: str | None = None,
    **detail: object,
) -> Event:
    event = Event(type=type_, camera_id=camera_id, site_id=site_id, detail=detail)
    session.add(event)
    session.flush()
    return event


def insert_events(session: Session, events: Sequence[NewEvent]) -> None:
    rows = [_row(e.type, e.camera_id, e.site_id, e.detail) for e in events]
    session.connection().execute(insert(EVENTS), rows)
    api_metrics().events_ingested.inc(len(rows))


@dataclass(frozen=True)
class EventFilter:
    camera_id: str | None = None
    site_id: str | None = None
    type: str | None = None
    since: datetime | None = None  # at >= since
    until: datetime | None = None  # at < until
    site_ids: frozenset[str] | None = None  # a viewer's sites; None: all


def list_events(
    session: Session, *, limit: int, before: int | None = None, where: EventFilter = EventFilter()
) -> Sequence[Event]:
    """Newest first (by id); `before`: only ids below it (the cursor of the page before)."""
    return session.scalars(build_list_query(limit=limit, before=before, where=where)).all()


def build_list_query(*, limit: int, before: int | None, where: EventFilter) -> Select[Event]:
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Event.id < before)
    if where.camera_id is not None:
        query = query.where(Event.camera_id == where.camera_id)
    if where.site_id is not None:
        query = query.where(Event.site_id == where.site_id)
    if where.type is not None:
        query = query.where(Event.type == where.type)
    if where.since is not None:
        query = query.where(Event.at >= where.since)
    if where.until is not None:
        query = query.where(Event.at < where.until)
    if where.site_ids is not None:
        query = query.where(Event.site_id.in_(where.site_ids))
    return query


def newer_events(
    session: Session, after: int, limit: int, sites: Collection[str] | None = None
) -> Sequence[Event]:
    """Oldest first, ids above `after`: what a stream has not sent yet; of `sites` only,
    unless None."""
    query = select(Event).where(Event.id > after)
    if sites is not None:
        query = query.where(Event.site_id.in_(sites))
    return session.scalars(query.order_by(Event.id).limit(limit)).all()


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0)


@dataclass(frozen=True)
class OutsideEvent:
    """A validated event from outside, ready to store: `detail_json` is `detail` as JSON."""

    at: datetime
    type: str
    camera_id: str
    site_id: str
    detail: dict[str, Any]
    detail_json: str


def store_batch(session: Session, events: Sequence[OutsideEvent]) -> None:
    """A validated batch, in one statement: PostgreSQL's COPY (the fastest way in), or an
    executemany elsewhere."""
    api_metrics().events_ingested.inc(len(events))
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = [_row(e.type, e.camera_id, e.site_id, e.detail) | {"at": e.at} for e in events]
        connection.execute(insert(EVENTS), rows)
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    copy = "COPY events (at, type, camera_id, site_id, detail) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(copy) as pipe:
        for e in events:
            pipe.write_row((e.at, e.type, e.camera_id, e.site_id, e.detail_json))


class EventBuffer:
    """Events written in batches by a background thread, every `every_s` (0.2 s: small
    batches, short pauses for the event loop): the playback path records a viewer_joined
    per request, and one transaction per request would serialise requests on the database's
    write lock (SQLite's above all). `flush` writes what is pending now (the event list
    calls it, so a process reads its own events at once); `close` flushes and stops. An
    event keeps the time it happened, not the time it was written.

    A database that cannot be reached keeps the batch for the next try (up to MAX_PENDING
    events); a batch the database refuses is written row by row, and a row it refuses is
    logged and dropped, so that one bad event never holds up the others."""

    def __init__(
        self,
        sessions: "sessionmaker[Session]",
        every_s: float = 0.2,
        on_written: Written = nothing,
    ) -> None:
        self._sessions = sessions
        self._every_s = every_s
        self._on_written = on_written
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sparc-events", daemon=True)
        self._thread.start()

    def add(
        self,
        type_: EventType,
        *,
        camera_id: str | None = None,
        site_id: str | None = None,
        **detail: object,
    ) -> None:
        row = _row(type_, camera_id, site_id, detail)
        with self._lock:
            self._pending.append(row)

    def flush(self) -> int:
        with self._flushing:  # one writer at a time keeps the events in order
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self._write(batch)
            except (OperationalError, InterfaceError) as error:
                self._keep(batch, error)
                return 0
            except StatementError:
                return self._write_each(batch)
            return len(batch)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()

    def _write(self, rows: list[dict[str, object]]) -> None:
        with self._sessions() as session, session.begin():
            # Core, not the ORM's bulk path: one executemany, half the CPU.
            session.connection().execute(insert(EVENTS), rows)
        self._on_written()

    def _keep(self, batch: list[dict[str, object]], error: Exception) -> None:
        with self._lock:
            self._pending[:0] = batch
            dropped = len(self._pending) - MAX_PENDING
            if dropped > 0:
                del self._pending[:dropped]
        log.warning("could not write %d events (%s); kept for the next try%s", len(batch),
                    error.__class__.__name__, f", {dropped} oldest dropped" if dropped > 0
                    else "")  # fmt: skip

    def _write_each(self, batch: list[dict[str, object]]) -> int:
        written = 0
        for row in batch:
            try:
                self._write([row])
                written += 1
            except StatementError as error:
                log.error("dropped an event the database refused (%s): type=%s camera=%s",
                          error.orig or error, row["type"], row["camera_id"])  # fmt: skip
        return written

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.flush()


def _row(
    type_: str, camera_id: str | None, site_id: str | None, detail: dict[str, object]
) -> dict[str, object]:
    return {"type": type_, "camera_id": camera_id, "site_id": site_id, "detail": detail,
            "at": datetime.now(UTC)}  # fmt: skip
