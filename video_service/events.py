"""Record and read events: camera online and offline, refused publishes, segments, ladder
jobs, viewers. Written by the edge, the scheduler and the playback API alike."""

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from video_service.models import Event, EventType

log = logging.getLogger(__name__)
EVENTS = cast(Table, Event.__table__)


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


def list_events(
    session: Session,
    *,
    limit: int,
    camera_id: str | None = None,
    type_: EventType | None = None,
    site_ids: frozenset[str] | None = None,
) -> Sequence[Event]:
    """Newest first; `site_ids` limits a viewer to its sites."""
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if camera_id is not None:
        query = query.where(Event.camera_id == camera_id)
    if type_ is not None:
        query = query.where(Event.type == type_)
    if site_ids is not None:
        query = query.where(Event.site_id.in_(site_ids))
    return session.scalars(query).all()


class EventBuffer:
    """Events written in batches by a background thread, every `every_s` (0.2 s: small
    batches, short pauses for the event loop): the playback path records a viewer_joined
    per request, and one transaction per request would serialise
    requests on the database's write lock (SQLite's above all). `flush` writes what is
    pending now (the event list calls it, so a process reads its own events at once); `close`
    flushes and stops. An event keeps the time it happened, not the time it was written."""

    def __init__(self, sessions: "sessionmaker[Session]", every_s: float = 0.2) -> None:
        self._sessions = sessions
        self._every_s = every_s
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
        row: dict[str, object] = {"type": type_, "camera_id": camera_id, "site_id": site_id,
                                  "detail": detail, "at": datetime.now(UTC)}  # fmt: skip
        with self._lock:
            self._pending.append(row)

    def flush(self) -> int:
        with self._flushing:  # one writer at a time keeps the events in order
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                try:
                    with self._sessions() as session, session.begin():
                        # Core, not the ORM's bulk path: one executemany, half the CPU.
                        session.connection().execute(insert(EVENTS), batch)
                except Exception:
                    log.exception("could not write %d events; they are kept for the next try",
                                  len(batch))  # fmt: skip
                    with self._lock:
                        self._pending[:0] = batch
                    return 0
            return len(batch)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.flush()
