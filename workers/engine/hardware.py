"""Prove which hardware encoders and decoders really open, by running each on a few frames.

Listing `ffmpeg -encoders` is not enough: an H100 lists h264_nvenc but has no NVENC engine,
and a container may lack the driver's libraries. Each check runs FFmpeg on a tiny generated
input and reports what worked and, where not, why.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from workers.base.process import Completed, run_capture
from workers.base.settings import WorkerSettings

_TINY = "testsrc2=size=256x144:rate=10"
_TIMEOUT_S = 30.0

# What FFmpeg says, and what it means to an operator.
_REASONS = (
    (
        "required nvenc API version",
        "the NVIDIA driver is older than the NVENC API this FFmpeg was built for",
    ),
    ("libnvidia-encode", "the NVIDIA encode library is missing (driver libraries not mounted)"),
    ("libcuda.so", "the CUDA driver library is missing (no NVIDIA driver in this container)"),
    ("libnvcuvid", "the NVIDIA decode library is missing (driver libraries not mounted)"),
    ("unsupported device", "this GPU has no NVENC engine (an H100 or H200 has NVDEC only)"),
    ("No capable devices found", "no NVENC-capable GPU (an H100 or H200 has NVDEC only)"),
    ("no CUDA-capable device", "no CUDA device is visible"),
    ("CUDA_ERROR_NO_DEVICE", "no CUDA device is visible"),
    ("OpenEncodeSessionEx failed", "NVENC refused a session (no NVENC engine, or none free)"),
    ("/dev/dri", "no VAAPI render device (/dev/dri) in this machine or container"),
    ("libva-drm", "Intel Quick Sync could not load its VAAPI runtime"),
    ("Failed to initialise VAAPI", "VAAPI could not open a driver for the render device"),
    ("libmfx", "the Intel Media SDK runtime is missing"),
    ("MFX", "Intel Quick Sync could not open a session"),
    ("Generic error in an external library", "the vendor library found no usable device"),
    ("Unknown encoder", "this FFmpeg was built without that encoder"),
)


@dataclass(frozen=True)
class Capability:
    name: str
    kind: str  # "encode" or "decode"
    ok: bool
    detail: str


def build_check_commands(settings: WorkerSettings, clip: Path) -> dict[str, tuple[str, list[str]]]:
    """Each check's kind and command; `clip` is a few frames of H.264 for the decode check."""
    ffmpeg = [settings.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
    lavfi = ["-f", "lavfi", "-i", _TINY, "-frames:v", "5"]
    null = ["-f", "null", "-"]
    cuda = ["-init_hw_device", "cuda=gpu", "-hwaccel", "cuda", "-hwaccel_device", "gpu"]
    download = ["-vf", "hwdownload,format=nv12"]
    qsv = ["-init_hw_device", "qsv=qs:hw"]
    vaapi = ["-init_hw_device", "vaapi=va:/dev/dri/renderD128", "-filter_hw_device", "va"]
    return {
        "nvenc": ("encode", [*ffmpeg, *lavfi, "-pix_fmt", "yuv420p", "-c:v", "h264_nvenc", *null]),
        # hwdownload fails on software frames, so a silent fallback to the CPU decoder
        # cannot pass for NVDEC.
        "nvdec": (
            "decode",
            [*ffmpeg, *cuda, "-hwaccel_output_format", "cuda", "-i", str(clip), *download, *null],
        ),
        "vaapi": (
            "encode",
            [*ffmpeg, *vaapi, *lavfi, "-vf", "format=nv12,hwupload", "-c:v", "h264_vaapi", *null],
        ),
        "qsv": (
            "encode",
            [*ffmpeg, *qsv, *lavfi, "-pix_fmt", "nv12", "-c:v", "h264_qsv", *null],
        ),
    }


def build_clip_command(settings: WorkerSettings, clip: Path) -> list[str]:
    args = [settings.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", _TINY, "-frames:v", "5", "-c:v", "libx264"]
    return [*args, "-pix_fmt", "yuv420p", str(clip)]


def probe_hardware(settings: WorkerSettings) -> list[Capability]:
    with tempfile.TemporaryDirectory(prefix="sparc-hw-") as scratch:
        clip = Path(scratch) / "clip.mp4"
        run_capture(build_clip_command(settings, clip), _TIMEOUT_S)
        checks = build_check_commands(settings, clip)
        return [
            _verdict(name, kind, run_capture(args, _TIMEOUT_S))
            for name, (kind, args) in checks.items()
        ]


def gpu_encoder_ready(capabilities: list[Capability]) -> bool:
    return any(cap.name == "nvenc" and cap.ok for cap in capabilities)


def _verdict(name: str, kind: str, outcome: Completed) -> Capability:
    if outcome.returncode == 0:
        return Capability(name, kind, True, "opened and processed 5 frames")
    return Capability(name, kind, False, explain_failure(outcome.stderr_tail))


# FFmpeg's closing lines say that it failed, not why.
_AFTERMATH = ("Nothing was written", "Conversion failed", "Task finished", "Terminating thread")


def explain_failure(stderr: str) -> str:
    for needle, reason in _REASONS:
        if needle in stderr:
            return reason
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if not any(word in line for word in _AFTERMATH)]
    return (telling or lines or ["failed without a message"])[0]
