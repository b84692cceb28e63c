"""The recording index: what each camera recorded when (segment start, duration, size, and
the segment's number, which names its key: `workers.base.layout.source_segment_key`).

Kept packed by the hour: one record per camera and hour, holding that hour's segments as
fixed-size entries in the order they were recorded (about 600 entries, 12 KB, at 6 s). Any
time range is then found by reading the hours it covers, in time proportional to the range
and not to the camera's history, and seven days of 100,000 cameras is 17 million records
rather than 10 billion rows.

The edge writes it (`RecordingIndex.add` as each segment is stored, `forget` as retention
deletes), the control plane reads it (spans, recorded playback, export); the database
behind it is the control plane's (`video_service.api.recording_store`).
"""

import struct
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

HOUR_S = 3600
MAX_SEGMENT_S = 60.0  # a segment this long starts at most this far before a range
GAP_TOLERANCE_S = 1.0  # closer than this, two segments are one span
# offset in its hour (ms), duration (ms), size (bytes), number, flags
_ENTRY = struct.Struct("<IIIQB")
ENTRY_SIZE = _ENTRY.size
_DISCONTINUITY = 1


class Recorded(NamedTuple):
    """One recorded source segment. `discontinuity`: the stream starts again here (a new
    publisher), whether or not time passed. A tuple: a day of one camera is 14,400 of them,
    made on every look-up."""

    start: float  # Unix time of its first frame
    duration: float
    size: int
    number: int
    discontinuity: bool = False

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Span:
    """A stretch recorded without a gap (a reconnect within `GAP_TOLERANCE_S` is no gap)."""

    start: float
    end: float


def hour_of(moment: float) -> int:
    return int(moment // HOUR_S)


def pack(hour: int, entries: Iterable[Recorded]) -> bytes:
    base_ms = hour * HOUR_S * 1000
    return b"".join(
        _ENTRY.pack(
            round(entry.start * 1000) - base_ms,
            round(entry.duration * 1000),
            entry.size,
            entry.number,
            _DISCONTINUITY if entry.discontinuity else 0,
        )
        for entry in entries
    )


def unpack(hour: int, blob: bytes) -> list[Recorded]:
    base_ms = hour * HOUR_S * 1000
    make = Recorded._make
    return [
        make(((base_ms + offset) / 1000, duration / 1000, size, number, flags == 1))
        for offset, duration, size, number, flags in _ENTRY.iter_unpack(blob)
    ]


def last_start(hour: int, blob: bytes) -> float | None:
    """The start of the last entry of a packed hour, read without unpacking the rest."""
    if len(blob) < _ENTRY.size:
        return None
    offset: int = _ENTRY.unpack(blob[-_ENTRY.size :])[0]
    return (hour * HOUR_S * 1000 + offset) / 1000


def by_hour(entries: Iterable[Recorded]) -> dict[int, list[Recorded]]:
    hours: dict[int, list[Recorded]] = {}
    for entry in entries:
        hours.setdefault(hour_of(entry.start), []).append(entry)
    return hours


def overlapping(entries: Iterable[Recorded], start: float, end: float) -> list[Recorded]:
    """The entries with any part in [start, end)."""
    return [e for e in entries if e[0] < end and e[0] + e[1] > start]


def spans_of(entries: Sequence[Recorded], tolerance_s: float = GAP_TOLERANCE_S) -> list[Span]:
    spans: list[Span] = []
    first = last = 0.0
    for start, duration, *_ in entries:
        if spans and start <= last + tolerance_s:
            last = max(last, start + duration)
            continue
        if spans:
            spans[-1] = Span(first, last)
        first, last = start, start + duration
        spans.append(Span(first, last))
    if spans:
        spans[-1] = Span(first, last)
    return spans


def merge_spans(spans: Sequence[Span], tolerance_s: float = GAP_TOLERANCE_S) -> list[Span]:
    """Spans in order, those that touch (an hour's last and the next hour's first) joined."""
    merged: list[Span] = []
    for span in spans:
        if merged and span.start <= merged[-1].end + tolerance_s:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def gaps_between(spans: Sequence[Span], start: float, end: float) -> list[Span]:
    """What [start, end) holds that `spans` (in order, within it) do not."""
    gaps: list[Span] = []
    cursor = start
    for span in spans:
        if span.start > cursor:
            gaps.append(Span(cursor, span.start))
        cursor = max(cursor, span.end)
    if cursor < end:
        gaps.append(Span(cursor, end))
    return gaps


class RecordingIndex(Protocol):
    def add(self, camera_id: str, entries: Sequence[Recorded]) -> None:
        """Append newly stored segments (in recording order); one already indexed is
        skipped, so a retried add writes nothing twice. May block."""
        ...

    def find(self, camera_id: str, start: float, end: float) -> list[Recorded]:
        """The segments with any part in [start, end), in order. May block."""
        ...

    def spans(self, camera_id: str, start: float, end: float) -> list[Span]:
        """The spans recorded with any part in [start, end), clipped to it. May block."""
        ...

    def forget(self, camera_id: str, numbers: Collection[int], before: float) -> int:
        """Drop the segments numbered `numbers`, all of which started before `before`;
        returns how many were dropped. May block."""
        ...
