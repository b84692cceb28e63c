"""Recorded ranges as players and people get them: a time range of a camera's recording as a VOD
playlist (made from the recording index on request, served by the origin at
`/live/{camera}/source/vod_{start ms}_{end ms}.m3u8`, so that the same CDN selection and
signing as live apply), and as one MP4 (remuxed, not re-encoded).

The playlist names the recording's own source segments, beside it in the same folder:
`EXT-X-PROGRAM-DATE-TIME` on every segment (the wall-clock time of its first frame) and
`EXT-X-DISCONTINUITY` wherever time jumps (a gap) or the stream starts again (a new
publisher).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from video_service.delivery.errors import NothingRecorded, RangeRefused
from video_service.shared.recording_index import GAP_TOLERANCE_S, Recorded
from workers.base.layout import source_segment_name, vod_playlist_key

MAX_PLAYBACK_S = 24 * 3600.0  # one VOD playlist: about 14,400 entries at 6 s
MAX_EXPORT_S = 3600.0
LAST_TIME_S = 253402300799.0  # 9999-12-31T23:59:59Z: later is no time datetime can name
CLIP_BEFORE_S = 10.0
CLIP_AFTER_S = 20.0


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float

    @property
    def start_ms(self) -> int:
        return math.floor(self.start * 1000)

    @property
    def end_ms(self) -> int:
        return math.ceil(self.end * 1000)


def checked_range(start: float, end: float, *, longest_s: float, what: str) -> TimeRange:
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end > LAST_TIME_S:
        raise RangeRefused("start and end must be real times (years 1970-9999)")
    if end <= start:
        raise RangeRefused("end must be after start")
    if end - start > longest_s:
        hours = longest_s / 3600
        raise RangeRefused(f"{what} covers at most {hours:g} hours; ask for a shorter range")
    return TimeRange(start, end)


def require_recorded(
    entries: Sequence[Recorded], wanted: TimeRange, *, now: float, retention_s: float
) -> None:
    if entries:
        return
    if wanted.end < now - retention_s:
        days = retention_s / 86400
        raise NothingRecorded(
            f"the range is past retention: recordings are kept {days:g} days, "
            f"until {stamp(now - retention_s)}"
        )
    raise NothingRecorded(f"nothing recorded between {stamp(wanted.start)} and {stamp(wanted.end)}")


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def vod_key(camera_id: str, wanted: TimeRange) -> str:
    return vod_playlist_key(camera_id, wanted.start_ms, wanted.end_ms)


def build_vod_playlist(entries: Sequence[Recorded]) -> str:
    """`entries` in recording order (the index's `find`)."""
    longest = max((entry.duration for entry in entries), default=1.0)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(longest))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    previous: Recorded | None = None
    for entry in entries:
        jumped = previous is not None and (
            entry.discontinuity or entry.start > previous.end + GAP_TOLERANCE_S
        )
        if jumped:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp(entry.start)}")
        lines.append(f"#EXTINF:{entry.duration:.6f},")
        lines.append(source_segment_name(entry.number))
        previous = entry
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
