"""Probe a source with ffprobe: codecs, resolution, frame rate, bitrate, audio."""

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from workers.base.process import run_capture
from workers.base.settings import Settings
from workers.engine.errors import UnsupportedInput
from workers.engine.inputs import FILE_FORMATS, SourceKind, SourceRef


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    profile: str | None
    level: int | None
    pix_fmt: str | None
    width: int
    height: int
    frame_rate: float | None
    variable_frame_rate: bool
    bit_rate: int | None


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    profile: str | None
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class SourceInfo:
    format_name: str
    duration_s: float | None
    bit_rate: int | None
    video: VideoInfo
    audio: AudioInfo | None

    @property
    def is_h264_8bit_420(self) -> bool:
        return self.video.codec == "h264" and self.video.pix_fmt in ("yuv420p", "yuvj420p")


# Known ffprobe complaints, turned into what a user can act on.
_EXPLANATIONS = (
    ("moov atom not found", "is truncated or incomplete (no moov atom)"),
    ("Invalid data found when processing input", "is not a video file FFmpeg can read"),
    ("not on whitelist", "is in a container format that is not accepted"),
    ("401 Unauthorized", "refused our credentials (401)"),
    ("Connection refused", "could not be reached (connection refused)"),
)


def build_ffprobe_command(source: SourceRef, settings: Settings) -> list[str]:
    args = [settings.ffprobe, "-v", "error", "-hide_banner"]
    args += ["-protocol_whitelist", source.protocol_whitelist]
    if source.kind is SourceKind.FILE:
        args += ["-format_whitelist", FILE_FORMATS]
    if source.kind is SourceKind.RTSP:
        args += ["-rtsp_transport", "tcp"]
    return [*args, "-show_format", "-show_streams", "-of", "json", source.url]


def probe_file(path: Path, settings: Settings) -> SourceInfo:
    """Probe a file we wrote ourselves (a segment), outside the input rules."""
    return probe_source(SourceRef(SourceKind.FILE, f"file:{path}", path), settings)


def probe_source(source: SourceRef, settings: Settings) -> SourceInfo:
    completed = run_capture(build_ffprobe_command(source, settings), settings.probe_timeout_s)
    name = source.path.name if source.path else source.url
    if completed.returncode != 0:
        raise UnsupportedInput(f"{name} {_explain(completed.stderr_tail, source.path)}")
    try:
        document = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise UnsupportedInput(f"{name}: ffprobe gave unreadable output") from error
    return parse_probe(document, name)


def parse_probe(document: dict[str, Any], name: str) -> SourceInfo:
    streams = document.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video" and not _is_picture(s)]
    if not videos:
        raise UnsupportedInput(f"{name} has no video stream (audio-only or not a video file)")
    video = videos[0]
    if not video.get("width") or not video.get("height"):
        raise UnsupportedInput(f"{name}: the video stream has no known size")
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    fmt = document.get("format", {})
    return SourceInfo(
        format_name=str(fmt.get("format_name", "")),
        duration_s=_float(fmt.get("duration")),
        bit_rate=_int(fmt.get("bit_rate")),
        video=_video_info(video, fmt, audios),
        audio=_audio_info(audios[0]) if audios else None,
    )


def _video_info(stream: dict[str, Any], fmt: dict[str, Any], audios: list[Any]) -> VideoInfo:
    avg = parse_rate(stream.get("avg_frame_rate"))
    real = parse_rate(stream.get("r_frame_rate"))
    return VideoInfo(
        codec=str(stream.get("codec_name", "")),
        profile=stream.get("profile"),
        level=_int(stream.get("level")),
        pix_fmt=stream.get("pix_fmt"),
        width=int(stream["width"]),
        height=int(stream["height"]),
        frame_rate=avg or real,
        variable_frame_rate=bool(avg and real and abs(avg - real) > 0.01 * real),
        bit_rate=_int(stream.get("bit_rate")) or _video_share(fmt, audios),
    )


def _video_share(fmt: dict[str, Any], audios: list[Any]) -> int | None:
    # MPEG-TS and Matroska rarely state a stream bitrate: take the container's minus audio.
    total = _int(fmt.get("bit_rate"))
    if total is None:
        return None
    audio = sum(_int(a.get("bit_rate")) or 128_000 for a in audios)
    return max(total - audio, 0)


def _audio_info(stream: dict[str, Any]) -> AudioInfo:
    return AudioInfo(
        codec=str(stream.get("codec_name", "")),
        profile=stream.get("profile"),
        sample_rate=_int(stream.get("sample_rate")),
        channels=_int(stream.get("channels")),
    )


def _is_picture(stream: dict[str, Any]) -> bool:
    return bool(stream.get("disposition", {}).get("attached_pic"))


def _explain(stderr_tail: str, path: Path | None) -> str:
    if "moov atom not found" in stderr_tail and path and not _looks_like_mp4(path):
        return "is not a video file FFmpeg can read (named like MP4, but it is not one)"
    for needle, explanation in _EXPLANATIONS:
        if needle in stderr_tail:
            return explanation
    last = stderr_tail.strip().splitlines()[-1:] or ["ffprobe could not read it"]
    return f"could not be read: {last[0]}"


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as head:
        box = head.read(8)[4:8]
    return box in (b"ftyp", b"mdat", b"moov", b"free", b"wide", b"skip")


def parse_rate(value: object) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _float(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None
