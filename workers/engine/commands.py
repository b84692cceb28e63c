"""Pure builders of the FFmpeg ladder command of a file (`transcode`, `enqueue`): one process
decodes once, scales and encodes every rung, and segments each into a VOD HLS rendition.
The live ladder is per segment (`workers.engine.segment_job`) and shares the encoder arguments.

The filter graph is a short string built here rather than with ffmpeg-python: that library
is unmaintained and the graph is a chain of `scale` and `split`, which reads plainly.

Segments are MPEG-TS, not fMP4: every segment stands alone (no init segment a per-segment
job or a token rewrite must also carry), a copied H.264 source needs nothing but a bitstream
filter, EXT-X-DISCONTINUITY after a camera reconnect needs no new init section, and both
hls.js and Safari play it.
"""

from enum import StrEnum
from pathlib import Path

from workers.base.layout import MEDIA_PLAYLIST, VOD_SEGMENT_PATTERN
from workers.base.settings import WorkerSettings
from workers.engine.h264_levels import high_profile_level
from workers.engine.inputs import FILE_FORMATS, SourceKind, SourceRef
from workers.engine.ladder import AudioPolicy, KeyframePolicy, LadderPlan, RungPlan

# Large enough that the encoder never places a keyframe of its own: only forced ones.
_NO_NATURAL_KEYFRAMES = "100000"


class Accel(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"


def build_ladder_command(
    plan: LadderPlan,
    source: SourceRef,
    outdir: Path,
    settings: WorkerSettings,
    *,
    accel: Accel = Accel.CPU,
) -> list[str]:
    args = [settings.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    args += ["-progress", "pipe:1", "-nostats", "-stats_period", "0.5"]
    args += build_input_args(source, accel=accel)
    if plan.encoded:
        args += ["-filter_complex", build_filter_graph(plan, accel)]
    for rung in plan.rungs:
        args += build_rung_output_args(rung, plan, outdir, settings, accel=accel)
    return args


def build_input_args(source: SourceRef, *, accel: Accel) -> list[str]:
    args = ["-protocol_whitelist", source.protocol_whitelist]
    if source.kind is SourceKind.FILE:
        # A damaged file must fail the job, not yield a silently short ladder.
        args += ["-xerror", "-format_whitelist", FILE_FORMATS]
    if source.kind is SourceKind.RTSP:
        args += ["-rtsp_transport", "tcp"]
    if accel is Accel.CUDA:
        args += ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]
    return [*args, "-i", source.url]


def build_filter_graph(plan: LadderPlan, accel: Accel = Accel.CPU) -> str:
    """Scale in a cascade: the tallest encoded rung from the source, each lower rung from
    the rung above it. Every scaler reads a smaller picture than the source, which is most
    of what scaling costs; the benchmark shows what it does to SSIM."""
    tallest_first = sorted(plan.encoded, key=lambda rung: rung.height, reverse=True)
    chains = []
    feed = "[0:v:0]"
    for index, rung in enumerate(tallest_first):
        scaled = f"{feed}{_scale(rung, accel)}"
        if index == len(tallest_first) - 1:
            chains.append(f"{scaled}[{rung.filter_label}]")
        else:
            chains.append(f"{scaled},split=2[{rung.filter_label}][c{rung.name}]")
            feed = f"[c{rung.name}]"
    return ";".join(chains)


def _scale(rung: RungPlan, accel: Accel) -> str:
    if accel is Accel.CUDA:
        return f"scale_cuda={rung.width}:{rung.height}:format=yuv420p"
    return f"scale={rung.width}:{rung.height},format=yuv420p"


def build_rung_output_args(
    rung: RungPlan,
    plan: LadderPlan,
    outdir: Path,
    settings: WorkerSettings,
    *,
    accel: Accel = Accel.CPU,
) -> list[str]:
    video = (
        ["-map", "0:v:0", "-c:v", "copy"]
        if rung.copy
        else build_encode_args(rung, plan, settings, accel)
    )
    return [
        *video,
        *build_audio_args(plan, settings),
        *build_hls_args(rung, plan, outdir),
    ]


def build_encode_args(
    rung: RungPlan,
    plan: LadderPlan,
    settings: WorkerSettings,
    accel: Accel,
    keyframes_at: str | None = None,
) -> list[str]:
    kbps = rung.video_kbps
    rate = [
        "-b:v",
        f"{kbps}k",
        "-maxrate",
        f"{kbps * 107 // 100}k",
        "-bufsize",
        f"{kbps * 3 // 2}k",
    ]
    forced = keyframes_at or _keyframe_expr(plan)
    keyframes = ["-g", _NO_NATURAL_KEYFRAMES, "-force_key_frames", forced]
    # The level the planned master states (workers.engine.master): named, not left to the encoder.
    level = high_profile_level(rung.width, rung.height, plan.frame_rate, kbps * 107 // 100)
    rate += ["-level:v", level.name]
    if accel is Accel.CUDA:
        codec = ["-c:v", "h264_nvenc", "-preset", "p4", "-profile:v", "high", "-rc", "vbr"]
        return ["-map", f"[{rung.filter_label}]", *codec, *rate, *keyframes, "-forced-idr", "1"]
    codec = ["-c:v", "libx264", "-preset", settings.x264_preset, "-profile:v", "high"]
    return ["-map", f"[{rung.filter_label}]", *codec, *rate, *keyframes, "-sc_threshold", "0"]


def _keyframe_expr(plan: LadderPlan) -> str:
    if plan.keyframes is KeyframePolicy.SOURCE:
        return "source"
    return f"expr:gte(t,n_forced*{plan.segment_seconds:g})"


def build_audio_args(plan: LadderPlan, settings: WorkerSettings) -> list[str]:
    if plan.audio is AudioPolicy.NONE:
        return []
    if plan.audio is AudioPolicy.COPY:
        return ["-map", "0:a:0", "-c:a", "copy"]
    return ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{settings.audio_kbps}k", "-ac", "2"]


def build_hls_args(rung: RungPlan, plan: LadderPlan, outdir: Path) -> list[str]:
    rung_dir = outdir / rung.name
    return [
        # Every rung keeps the source's own timestamps: either muxer would otherwise shift
        # a rung whose encoder delays with B-frames away from the copied rung.
        "-avoid_negative_ts", "disabled",
        "-f", "hls",
        "-hls_segment_options", "avoid_negative_ts=disabled",
        "-hls_time", f"{plan.segment_seconds:g}",
        "-hls_segment_type", "mpegts",
        "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(rung_dir / VOD_SEGMENT_PATTERN),
        str(rung_dir / MEDIA_PLAYLIST),
    ]  # fmt: skip
