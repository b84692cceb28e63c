"""Every playlist we write, built here: the master of a ladder and the rung playlists of a live
ladder (FFmpeg writes the recorder's source playlist and a VOD ladder's media playlists
itself; `cdn.steering` rewrites a master for the CDNs it is served through).

Master: BANDWIDTH is the measured peak segment bitrate and AVERAGE-BANDWIDTH the mean over
the whole rendition, as RFC 8216 section 4.3.4.2 defines them; CODECS comes from probing the
first segment, so a copied source states its own profile and level.

Live rungs are rendered from the source playlist and the rung segments that exist: pure, so
that any job can re-render them at any time. Each rung lists the source window in order,
from the first segment it has (a ladder that starts when a first viewer arrives has none of
the older ones). A segment the rung has is listed; one whose deadline has passed without it
is listed with EXT-X-GAP, so that a player skips it rather than stalling; at the first
segment still being worked on, the playlist ends for now. `floor`, the media sequence last
published, keeps the sequence from going back.
"""

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import m3u8

from workers.base.layout import MASTER_PLAYLIST, MEDIA_PLAYLIST
from workers.base.settings import Settings
from workers.engine.outputs import replace_text
from workers.engine.probe import probe_file


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    frame_rate: float | None
    peak_bps: int
    average_bps: int
    codecs: str
    segments: int


_AVC_PROFILES = {
    "Constrained Baseline": "42e0",
    "Baseline": "4200",
    "Main": "4d40",
    "High": "6400",
}


def build_avc_codec(profile: str | None, level: int | None) -> str:
    prefix = _AVC_PROFILES.get(profile or "", "6400")
    return f"avc1.{prefix}{(level or 40):02x}"


def build_aac_codec(profile: str | None) -> str:
    return "mp4a.40.5" if profile and "HE" in profile else "mp4a.40.2"


def measure_media_playlist(playlist_path: Path) -> tuple[int, int, int]:
    """(peak bits/s, average bits/s, segment count) of a media playlist on disk."""
    playlist = m3u8.load(str(playlist_path))
    peak = 0.0
    total_bits = 0.0
    total_seconds = 0.0
    for segment in playlist.segments:
        path = playlist_path.parent / segment.uri
        duration = float(segment.duration or 0)
        if segment.gap_tag or duration <= 0 or not path.exists():
            continue  # a gap a live rung marked, or a segment already past retention
        size = path.stat().st_size
        peak = max(peak, size * 8 / duration)
        total_bits += size * 8
        total_seconds += duration
    average = total_bits / total_seconds if total_seconds else 0.0
    return round(peak), round(average), len(playlist.segments)


def describe_rendition(name: str, rung_dir: Path, settings: Settings) -> Rendition | None:
    """None while the rung has no segment yet (a live ladder just starting)."""
    playlist_path = rung_dir / MEDIA_PLAYLIST
    if not playlist_path.exists():
        return None
    peak, average, count = measure_media_playlist(playlist_path)
    if count == 0:
        return None
    present = [s.uri for s in m3u8.load(str(playlist_path)).segments if not s.gap_tag]
    if not present:
        return None
    first = present[0]
    width, height, frame_rate, codecs = _probe_segment(rung_dir / first, settings)
    return Rendition(name, width, height, frame_rate, peak, average, codecs, count)


def _probe_segment(path: Path, settings: Settings) -> tuple[int, int, float | None, str]:
    info = probe_file(path, settings)
    codecs = [build_avc_codec(info.video.profile, info.video.level)]
    if info.audio is not None:
        codecs.append(build_aac_codec(info.audio.profile))
    return info.video.width, info.video.height, info.video.frame_rate, ",".join(codecs)


def build_master_playlist(renditions: Sequence[Rendition], first: str | None = None) -> str:
    """By bandwidth, with the rendition named `first` (if any) listed first: the one a
    player starts on (RFC 8216 section 6.3.1)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    ordered = sorted(renditions, key=lambda r: (r.name != first, r.peak_bps))
    for rendition in ordered:
        attributes = [
            f"BANDWIDTH={rendition.peak_bps}",
            f"AVERAGE-BANDWIDTH={rendition.average_bps}",
            f"RESOLUTION={rendition.width}x{rendition.height}",
            f'CODECS="{rendition.codecs}"',
        ]
        if rendition.frame_rate:
            attributes.append(f"FRAME-RATE={rendition.frame_rate:.3f}")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attributes))
        lines.append(f"{rendition.name}/{MEDIA_PLAYLIST}")
    return "\n".join(lines) + "\n"


def write_master_playlist(outdir: Path, renditions: Sequence[Rendition]) -> Path:
    target = outdir / MASTER_PLAYLIST
    replace_text(target, build_master_playlist(renditions))
    return target


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


def mark_unusable_segments(text: str, usable: Callable[[str], bool]) -> str:
    """The playlist with every segment `usable` refuses (empty, missing: a recorder that
    ran out of disk still lists what it could not write) marked EXT-X-GAP, so a player
    skips it instead of failing on it."""
    lines = text.splitlines()
    marked: list[str] = []
    for index, line in enumerate(lines):
        is_uri = bool(line) and not line.startswith("#")
        already = index > 0 and lines[index - 1] == "#EXT-X-GAP"
        if is_uri and not already and not usable(line):
            marked.append("#EXT-X-GAP")
        marked.append(line)
    return "\n".join(marked) + "\n"


def is_playlist(text: str) -> bool:
    return text.lstrip().startswith("#EXTM3U")


def listed_segments(text: str) -> set[str]:
    """The segments a rung playlist lists as present (not as gaps)."""
    lines = text.splitlines()
    return {
        line
        for index, line in enumerate(lines)
        if line and not line.startswith("#") and lines[index - 1] != "#EXT-X-GAP"
    }
