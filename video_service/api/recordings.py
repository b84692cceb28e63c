"""The recording index (`workers.recordings.RecordingIndex`) on the control plane's database:
a row per camera and hour (`models.RecordingHour`). The edge is the one writer of a camera's
rows (it owns the camera); readers are any API node."""

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import session_scope
from video_service.api.models import RecordingHour
from workers.recordings import (
    MAX_SEGMENT_S,
    Recorded,
    by_hour,
    hour_of,
    last_start,
    overlapping,
    pack,
    unpack,
)


class DatabaseRecordings:
    def __init__(self, sessions: "sessionmaker[Session]") -> None:
        self._sessions = sessions

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

    def find(self, camera_id: str, start: float, end: float) -> list[Recorded]:
        if end <= start:
            return []
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
            rows = session.execute(query).all()
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
