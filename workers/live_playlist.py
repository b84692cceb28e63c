"""Rung playlists of a live ladder, rendered from the source playlist and the rung segments
that exist: pure, so that any job (or the scheduler) can re-render them at any time.

Each rung lists the source window in order, from the first segment it has (a ladder that
starts when a first viewer arrives has none of the older ones). A segment the rung has is
listed; one whose deadline has passed without it is listed with EXT-X-GAP, so that a player
skips it rather than stalling; at the first segment still being worked on, the playlist ends
for now. `floor`, the media sequence last published, keeps the sequence from going back.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import m3u8


@dataclass(frozen=True)
class SourceEntry:
    uri: str
    duration: float
    discontinuity: bool
    program_date_time: datetime | None

    def closed_at(self) -> float | None:
        if self.program_date_time is None:
            return None
        return self.program_date_time.timestamp() + self.duration


@dataclass(frozen=True)
class SourceWindow:
    media_sequence: int
    target_duration: int
    entries: tuple[SourceEntry, ...]


def parse_source_window(text: str) -> SourceWindow:
    playlist = m3u8.loads(text)
    entries = tuple(
        SourceEntry(
            uri=segment.uri,
            duration=float(segment.duration or 0),
            discontinuity=bool(segment.discontinuity),
            program_date_time=segment.current_program_date_time,
        )
        for segment in playlist.segments
    )
    return SourceWindow(
        media_sequence=int(playlist.media_sequence or 0),
        target_duration=int(playlist.target_duration or 6),
        entries=entries,
    )


def build_rung_playlist(
    window: SourceWindow,
    available: Collection[str],
    *,
    now: float,
    deadline_s: float,
    floor: int = 0,
    skipped: Collection[str] = (),
) -> str:
    """`skipped`: segments a job gave up on, gaps at once whatever the clock says."""
    numbered = [
        (window.media_sequence + index, entry)
        for index, entry in enumerate(window.entries)
        if window.media_sequence + index >= floor
    ]
    first = next((i for i, (_, entry) in enumerate(numbered) if entry.uri in available), None)
    listed = numbered[first:] if first is not None else []
    sequence = listed[0][0] if listed else max(floor, window.media_sequence)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{window.target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{sequence}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for _, entry in listed:
        have = entry.uri in available
        given_up = entry.uri in skipped or past_deadline(entry, now=now, deadline_s=deadline_s)
        if not have and not given_up:
            break
        if entry.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if entry.program_date_time is not None:
            stamp = entry.program_date_time.isoformat(timespec="milliseconds")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{entry.duration:.6f},")
        if not have:
            lines.append("#EXT-X-GAP")
        lines.append(entry.uri)
    return "\n".join(lines) + "\n"


def past_deadline(entry: SourceEntry, *, now: float, deadline_s: float) -> bool:
    closed = entry.closed_at()
    return closed is not None and now > closed + deadline_s


def media_sequence_of(text: str) -> int:
    """The media sequence a playlist states (0 for none, or no playlist yet)."""
    match = re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0
