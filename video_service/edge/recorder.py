"""The recorder of one camera: FFmpeg remuxing (video copied, audio to AAC unless it already
is) into keyframe-cut source segments and a live source playlist that continues across
reconnects. A pushed camera's recorder listens for the publisher the edge hands over; a
pulled camera's reads the camera's own RTSP server. Started through the one process runner
(`workers.base.process`), its complaints appended to `recorder.log` beside the recording."""

import asyncio
from enum import StrEnum
from pathlib import Path

from video_service.edge.settings import EdgeSettings
from workers.base.layout import MEDIA_PLAYLIST, RECORDER_LOG, SOURCE_SEGMENT_PATTERN
from workers.base.process import start_child

_RTSP_PROTOCOLS = "rtsp,rtsps,rtp,srtp,tcp,udp,tls"


class Audio(StrEnum):
    COPY = "copy"  # the camera sends AAC
    AAC = "aac"  # the camera sends something else
    NONE = "none"
    ANY = "any"  # unknown before reading (pull): AAC if there is audio at all


def sdp_has_aac(sdp: str) -> bool:
    return "mpeg4-generic" in sdp.lower()


def sdp_has_audio(sdp: str) -> bool:
    return any(line.startswith("m=audio") for line in sdp.splitlines())


def audio_for_sdp(sdp: str) -> Audio:
    if not sdp_has_audio(sdp):
        return Audio.NONE
    return Audio.COPY if sdp_has_aac(sdp) else Audio.AAC


def build_listen_input(listen_url: str) -> list[str]:
    return ["-rtsp_flags", "listen", "-rtsp_transport", "tcp", "-i", listen_url]


def build_pull_input(source_url: str, timeout_s: float = 10.0) -> list[str]:
    microseconds = str(int(timeout_s * 1_000_000))
    return [
        "-protocol_whitelist", _RTSP_PROTOCOLS, "-rtsp_transport", "tcp",
        "-timeout", microseconds, "-i", source_url,
    ]  # fmt: skip


def build_record_command(
    ffmpeg: str,
    input_args: list[str],
    outdir: Path,
    *,
    segment_s: float,
    window: int,
    audio: Audio,
) -> list[str]:
    """RTP gives the first H.264 frame no PTS (FFmpeg 5's depacketizer), which the segment
    muxer refuses: setts gives it its DTS."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *input_args]
    args += ["-map", "0:v:0", "-c:v", "copy", "-bsf:v", "setts=pts=if(eq(PTS\\,NOPTS)\\,DTS\\,PTS)"]
    if audio is Audio.COPY:
        args += ["-map", "0:a:0", "-c:a", "copy"]
    elif audio is Audio.AAC:
        args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k"]
    elif audio is Audio.ANY:
        args += ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"]
    flags = "temp_file+program_date_time+omit_endlist+append_list+independent_segments"
    return [
        *args,
        "-f", "hls",
        "-hls_time", f"{segment_s:g}",
        "-hls_list_size", str(window),
        "-hls_flags", flags,
        "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(outdir / SOURCE_SEGMENT_PATTERN),
        str(outdir / MEDIA_PLAYLIST),
    ]  # fmt: skip


async def start_recorder(
    settings: EdgeSettings, input_args: list[str], outdir: Path, audio: Audio
) -> asyncio.subprocess.Process:
    command = build_record_command(
        settings.ffmpeg,
        input_args,
        outdir,
        segment_s=settings.segment_seconds,
        window=settings.live_window,
        audio=audio,
    )
    # FFmpeg's own complaints go beside the recording, where an operator looks first.
    return await start_child(command, log=outdir / RECORDER_LOG)
