"""The recording index (`video_service.shared.recording_index.RecordingIndex`) on the control
plane's database: a row per camera and hour (`models.RecordingHour`). The edge is the one
writer of a camera's rows (it owns the camera); readers are any API node.

Spans (what the timeline asks for, a day at a time) are kept per row version in a bounded
per-process cache: a past hour's row no longer changes, so a day's spans cost the rows'
fetch and 24 look-ups rather than decoding 14,400 entries each time."""

from collections import OrderedDict
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import session_scope
from video_service.api.models import RecordingHour
from video_service.shared.recording_index import (
    ENTRY_SIZE,
    MAX_SEGMENT_S,
    Recorded,
    Span,
    by_hour,
    hour_of,
    last_start,
    merge_spans,
    overlapping,
    pack,
    spans_of,
    unpack,
)

SPAN_CACHE_ROWS = 100_000  # hour rows' spans kept per process (a few MB)


class DatabaseRecordings:
    def __init__(self, sessions: "sessionmaker[Session]") -> None:
        self._sessions = sessions
        self._hour_spans: OrderedDict[tuple[object, ...], list[Span]] = OrderedDict()

    def add(self, camera_id: str, entries: Sequence[Recorded]) -> None:
        if not entries:
            return
        with session_scope(self._sessions) as session:
            for hour, fresh in sorted(by_hour(entries).items()):
                row = session.get(RecordingHour, (camera_id, hour), with_for_update=True)
                if row is None:
                    session.add(
                        RecordingHour(camera_id=camera_id, hour=hour, entries=pack(hour, fresh))
                    )
                    continue
                newest = last_start(hour, row.entries)
                later = [e for e in fresh if newest is None or e.start > newest + 0.0005]
                if later:
                    row.entries = row.entries + pack(hour, later)

    def spans(self, camera_id: str, start: float, end: float) -> list[Span]:
        """The recorded spans with any part in [start, end), clipped to it, in order."""
        if end <= start:
            return []
        joined: list[Span] = []
        for hour, blob in self._rows(camera_id, start, end):
            version = (camera_id, hour, len(blob), blob[:ENTRY_SIZE], blob[-ENTRY_SIZE:])
            found = self._hour_spans.get(version)
            if found is None:
                found = spans_of(unpack(hour, blob))
                self._remember(version, found)
            joined += found
        return [
            Span(max(s.start, start), min(s.end, end))
            for s in merge_spans(joined)
            if s.end > start and s.start < end
        ]

    def _remember(self, version: tuple[object, ...], spans: list[Span]) -> None:
        self._hour_spans[version] = spans
        if len(self._hour_spans) > SPAN_CACHE_ROWS:
            self._hour_spans.popitem(last=False)

    def _rows(self, camera_id: str, start: float, end: float) -> list[tuple[int, bytes]]:
        query = (
            select(RecordingHour.hour, RecordingHour.entries)
            .where(
                RecordingHour.camera_id == camera_id,
                RecordingHour.hour >= hour_of(start - MAX_SEGMENT_S),
                RecordingHour.hour <= hour_of(end),
            )
            .order_by(RecordingHour.hour)
        )
        with session_scope(self._sessions) as session:
            return [(int(hour), bytes(blob)) for hour, blob in session.execute(query)]

    def find(self, camera_id: str, start: float, end: float) -> list[Recorded]:
        if end <= start:
            return []
        rows = self._rows(camera_id, start, end)
        return overlapping((e for hour, blob in rows for e in unpack(hour, blob)), start, end)

    def forget(self, camera_id: str, numbers: Collection[int], before: float) -> int:
        gone = set(numbers)
        dropped = 0
        if not gone:
            return 0
        query = select(RecordingHour).where(
            RecordingHour.camera_id == camera_id, RecordingHour.hour <= hour_of(before)
        )
        with session_scope(self._sessions) as session:
            for row in session.scalars(query.with_for_update()):
                entries = unpack(row.hour, row.entries)
                kept = [entry for entry in entries if entry.number not in gone]
                dropped += len(entries) - len(kept)
                if not kept:
                    session.delete(row)
                elif len(kept) < len(entries):
                    row.entries = pack(row.hour, kept)
        return dropped
