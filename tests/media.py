"""What ffprobe says about the segments we wrote: the facts the ladder tests assert."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import m3u8


@dataclass(frozen=True)
class SegmentFacts:
    width: int
    height: int
    codec: str
    first_pts: float
    starts_with_keyframe: bool


def ffmpeg(*args: str) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    subprocess.run(command, check=True, timeout=180)


def ffprobe_json(*args: str) -> dict[str, object]:
    command = ["ffprobe", "-v", "error", "-of", "json", *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def segment_facts(path: Path) -> SegmentFacts:
    streams = ffprobe_json("-select_streams", "v:0", "-show_streams", str(path))["streams"]
    stream = streams[0]  # type: ignore[index]
    packets = ffprobe_json(
        "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
        "-read_intervals", "%+#1", str(path),
    )["packets"]  # fmt: skip
    first = packets[0]  # type: ignore[index]
    return SegmentFacts(
        width=int(stream["width"]),
        height=int(stream["height"]),
        codec=str(stream["codec_name"]),
        first_pts=float(first["pts_time"]),
        starts_with_keyframe=str(first["flags"]).startswith("K"),
    )


def media_segments(rung_dir: Path) -> list[tuple[Path, float]]:
    playlist = m3u8.load(str(rung_dir / "index.m3u8"))
    return [(rung_dir / s.uri, float(s.duration)) for s in playlist.segments]


def video_frame_hashes(path: Path) -> list[str]:
    """MD5 of each decoded picture: equal lists mean the same pictures, bit for bit."""
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    return [
        line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if not line.startswith("#")
    ]


def concat_segments(segments: list[Path], target: Path) -> Path:
    with target.open("wb") as joined:
        for segment in segments:
            joined.write(segment.read_bytes())
    return target


FIVE = ["240p", "360p", "480p", "720p", "1080p"]
SIZES = {"240p": (426, 240), "360p": (640, 360), "480p": (854, 480), "720p": (1280, 720),
         "1080p": (1920, 1080)}  # fmt: skip


def assert_aligned_ladder(outdir: Path, rungs: list[str], segment_s: float = 6.0) -> None:
    master = m3u8.load(str(outdir / "master.m3u8"))
    assert master.is_variant and master.is_independent_segments
    assert [p.uri.split("/")[0] for p in master.playlists] == rungs
    starts: list[list[float]] = []
    for variant in master.playlists:
        info = variant.stream_info
        assert info.bandwidth >= info.average_bandwidth > 0
        assert info.codecs.startswith("avc1.") and info.frame_rate
        rung = variant.uri.split("/")[0]
        assert info.resolution == SIZES[rung]
        media = m3u8.load(str(outdir / variant.uri))
        assert media.is_endlist and media.target_duration == round(segment_s)
        segments = media_segments(outdir / rung)
        assert len(segments) >= 2
        *full, last = [duration for _, duration in segments]
        assert all(abs(duration - segment_s) < 0.05 for duration in full), full
        assert 0 < last <= segment_s + 0.05
        facts = [segment_facts(path) for path, _ in segments]
        assert all((f.width, f.height) == SIZES[rung] for f in facts)
        assert all(f.codec == "h264" and f.starts_with_keyframe for f in facts)
        starts.append([round(f.first_pts, 3) for f in facts])
    assert all(row == starts[0] for row in starts), starts
