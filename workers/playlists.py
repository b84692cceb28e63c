"""Measure what the rungs came out as and write the master playlist.

BANDWIDTH is the measured peak segment bitrate and AVERAGE-BANDWIDTH the mean over the
whole rendition, as RFC 8216 section 4.3.4.2 defines them; CODECS comes from probing the
first segment, so a copied source states its own profile and level.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from workers.commands import MASTER_PLAYLIST, MEDIA_PLAYLIST
from workers.outputs import replace_text
from workers.probe import probe_file
from workers.settings import WorkerSettings


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


def describe_rendition(name: str, rung_dir: Path, settings: WorkerSettings) -> Rendition | None:
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


def _probe_segment(path: Path, settings: WorkerSettings) -> tuple[int, int, float | None, str]:
    info = probe_file(path, settings)
    codecs = [build_avc_codec(info.video.profile, info.video.level)]
    if info.audio is not None:
        codecs.append(build_aac_codec(info.audio.profile))
    return info.video.width, info.video.height, info.video.frame_rate, ",".join(codecs)


def build_master_playlist(renditions: Sequence[Rendition]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in sorted(renditions, key=lambda r: r.peak_bps):
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
