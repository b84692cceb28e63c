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
