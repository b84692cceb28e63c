from pathlib import Path

from workers.base.layout import MediaLayout
from workers.base.settings import WorkerSettings
from workers.engine.commands import Accel, build_filter_graph, build_ladder_command
from workers.engine.inputs import SourceKind, SourceRef
from workers.engine.ladder import AudioPolicy, KeyframePolicy, LadderPlan, RungPlan
from workers.engine.segment_job import SegmentWork, build_segment_command

SETTINGS = WorkerSettings()
SOURCE = SourceRef(SourceKind.FILE, "file:/media/in.mp4", Path("/media/in.mp4"))
OUT = Path("/out")


def plan(copy_top: bool, audio: AudioPolicy = AudioPolicy.AAC) -> LadderPlan:
    keyframes = KeyframePolicy.SOURCE if copy_top else KeyframePolicy.INTERVAL
    rungs = (
        RungPlan("240p", 426, 240, 400, copy=False),
        RungPlan("1080p", 1920, 1080, 5000, copy=copy_top),
    )
    return LadderPlan(rungs, keyframes, audio, 6.0)


def hls(rung: str) -> list[str]:
    return [
        "-avoid_negative_ts", "disabled", "-f", "hls",
        "-hls_segment_options", "avoid_negative_ts=disabled",
        "-hls_time", "6", "-hls_segment_type", "mpegts",
        "-hls_playlist_type", "vod", "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", f"/out/{rung}/seg_%05d.ts", f"/out/{rung}/index.m3u8",
    ]  # fmt: skip


HEAD = [
    "ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
    "-progress", "pipe:1", "-nostats", "-stats_period", "0.5",
    "-protocol_whitelist", "file", "-xerror", "-format_whitelist",
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,flv,avi,asf,h264,hevc,mpeg,mpegvideo,mjpeg,nut,ogg",
]  # fmt: skip
AAC = ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2"]


def x264(
    label: str, kbps: int, maxrate: int, bufsize: int, keyframes: str, level: str = "2.1"
) -> list[str]:
    return [
        "-map", f"[{label}]", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
        "-b:v", f"{kbps}k", "-maxrate", f"{maxrate}k", "-bufsize", f"{bufsize}k",
        "-level:v", level,
        "-g", "100000", "-force_key_frames", keyframes, "-sc_threshold", "0",
    ]  # fmt: skip


def test_copied_top_rung_and_source_keyframes() -> None:
    assert build_ladder_command(plan(copy_top=True), SOURCE, OUT, SETTINGS) == [
        *HEAD, "-i", "file:/media/in.mp4",
        "-filter_complex", "[0:v:0]scale=426:240,format=yuv420p[v240p]",
        *x264("v240p", 400, 428, 600, "source"), *AAC, *hls("240p"),
        "-map", "0:v:0", "-c:v", "copy", *AAC, *hls("1080p"),
    ]  # fmt: skip


def test_every_rung_encoded_with_a_keyframe_every_segment() -> None:
    assert build_ladder_command(plan(copy_top=False), SOURCE, OUT, SETTINGS) == [
        *HEAD, "-i", "file:/media/in.mp4",
        "-filter_complex",
        "[0:v:0]scale=1920:1080,format=yuv420p,split=2[v1080p][c1080p];"
        "[c1080p]scale=426:240,format=yuv420p[v240p]",
        *x264("v240p", 400, 428, 600, "expr:gte(t,n_forced*6)"), *AAC, *hls("240p"),
        *x264("v1080p", 5000, 5350, 7500, "expr:gte(t,n_forced*6)", "4.0"), *AAC, *hls("1080p"),
    ]  # fmt: skip


def test_an_rtsp_source_is_read_over_tcp_and_its_aac_copied() -> None:
    camera = SourceRef(SourceKind.RTSP, "rtsp://cam/1")
    args = build_ladder_command(plan(copy_top=True, audio=AudioPolicy.COPY), camera, OUT, SETTINGS)
    start = args.index("-protocol_whitelist")
    assert args[start : args.index("-filter_complex")] == [
        "-protocol_whitelist", "rtsp,rtsps,rtp,srtp,tcp,udp,tls",
        "-rtsp_transport", "tcp", "-i", "rtsp://cam/1",
    ]  # fmt: skip
    assert args[-len(hls("1080p")) :] == hls("1080p")
    assert args.count("-c:a") == 2 and "aac" not in args


def test_a_live_segment_job_encodes_the_lower_rungs_on_the_source_timestamps() -> None:
    work = SegmentWork(MediaLayout(Path("/media")), "c" * 32, "seg_000042.ts")
    camera = "/media/live/" + "c" * 32
    assert build_segment_command(plan(copy_top=True, audio=AudioPolicy.COPY), work, SETTINGS) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-copyts", "-i", f"file:{camera}/source/seg_000042.ts",
        "-filter_complex", "[0:v:0]scale=426:240,format=yuv420p[v240p]",
        *x264("v240p", 400, 428, 600, "source"),
        "-fps_mode:v", "passthrough", "-enc_time_base:v", "-1",
        "-map", "0:a:0", "-c:a", "copy",
        "-avoid_negative_ts", "disabled", "-f", "mpegts",
        "-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0",
        f"{camera}/240p/.seg_000042.ts.tmp",
    ]  # fmt: skip


def test_gpu_variant_decodes_scales_and_encodes_on_the_gpu() -> None:
    args = build_ladder_command(plan(copy_top=False), SOURCE, OUT, SETTINGS, accel=Accel.CUDA)
    assert args[args.index("-i") - 4 : args.index("-i")] == [
        "-hwaccel", "cuda", "-hwaccel_output_format", "cuda",
    ]  # fmt: skip
    assert build_filter_graph(plan(copy_top=False), Accel.CUDA) == (
        "[0:v:0]scale_cuda=1920:1080:format=yuv420p,split=2[v1080p][c1080p];"
        "[c1080p]scale_cuda=426:240:format=yuv420p[v240p]"
    )
    first = args.index("-c:v")
    assert args[first : first + 18] == [
        "-c:v", "h264_nvenc", "-preset", "p4", "-profile:v", "high", "-rc", "vbr",
        "-b:v", "400k", "-maxrate", "428k", "-bufsize", "600k", "-level:v", "2.1",
        "-g", "100000",
    ]  # fmt: skip
    assert args.count("-forced-idr") == 2
    assert "libx264" not in args


def test_no_audio_maps_none() -> None:
    args = build_ladder_command(plan(copy_top=True, audio=AudioPolicy.NONE), SOURCE, OUT, SETTINGS)
    assert "0:a:0" not in args and "-c:a" not in args
