"""The recorder of one camera: FFmpeg listening for the publisher the edge hands over,
remuxing (video copied, audio to AAC unless it already is) into keyframe-cut source
segments and a live source playlist that continues across reconnects."""

from pathlib import Path

SOURCE_PLAYLIST = "index.m3u8"


def sdp_has_aac(sdp: str) -> bool:
    return "mpeg4-generic" in sdp.lower()


def sdp_has_audio(sdp: str) -> bool:
    return any(line.startswith("m=audio") for line in sdp.splitlines())


def build_record_command(
    ffmpeg: str,
    listen_url: str,
    outdir: Path,
    *,
    segment_s: float,
    window: int,
    audio: str,
) -> list[str]:
    """`audio` is "copy", "aac" or "none". RTP gives the first H.264 frame no PTS (FFmpeg
    5's depacketizer), which the segment muxer refuses: setts gives it its DTS."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
    args += ["-rtsp_flags", "listen", "-rtsp_transport", "tcp", "-i", listen_url]
    args += ["-map", "0:v:0", "-c:v", "copy", "-bsf:v", "setts=pts=if(eq(PTS\\,NOPTS)\\,DTS\\,PTS)"]
    if audio == "copy":
        args += ["-map", "0:a:0", "-c:a", "copy"]
    elif audio == "aac":
        args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k"]
    flags = "temp_file+program_date_time+omit_endlist+append_list+independent_segments"
    return [
        *args,
        "-f", "hls",
        "-hls_time", f"{segment_s:g}",
        "-hls_list_size", str(window),
        "-hls_flags", flags,
        "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(outdir / "seg_%06d.ts"),
        str(outdir / SOURCE_PLAYLIST),
    ]  # fmt: skip
