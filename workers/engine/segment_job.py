"""The live ladder's unit of work: one source segment in, the same segment of every lower
rung out, on the source's own timestamps, so that segment N of every rung lines up.

The source segment already starts on a keyframe and carries AAC (the edge made sure), so a
job decodes it once, scales in a cascade, encodes each rung with an IDR at its first frame,
copies the audio, and writes each rung's segment under a temporary name before renaming it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from workers.base.layout import SOURCE, MediaLayout, segment_key
from workers.base.process import run_ffmpeg
from workers.base.settings import WorkerSettings
from workers.engine.commands import Accel, build_audio_args, build_encode_args, build_filter_graph
from workers.engine.ladder import KeyframePolicy, LadderPlan
from workers.engine.outputs import make_rung_dirs


@dataclass(frozen=True)
class SegmentWork:
    layout: MediaLayout
    camera_id: str
    segment: str  # the source segment's file name, e.g. seg_000042.ts

    @property
    def camera_dir(self) -> Path:
        return self.layout.camera_dir(self.camera_id)

    @property
    def source(self) -> Path:
        return self.rendition_file(SOURCE)

    def rendition_file(self, rendition: str) -> Path:
        return self.layout.path(segment_key(self.camera_id, rendition, self.segment))


def build_segment_command(
    plan: LadderPlan, work: SegmentWork, settings: WorkerSettings, accel: Accel = Accel.CPU
) -> list[str]:
    # Source keyframes where the top rung is the copied source; else one IDR, at the start.
    keyframes = "source" if plan.keyframes is KeyframePolicy.SOURCE else "expr:eq(n,0)"
    args = [settings.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    args += ["-copyts", "-i", f"file:{work.source}"]
    args += ["-filter_complex", build_filter_graph(plan, accel)]
    for rung in plan.encoded:
        args += build_encode_args(rung, plan, settings, accel, keyframes_at=keyframes)
        # The source's timestamps (off any frame grid, from RTP) pass through unrounded.
        args += ["-fps_mode:v", "passthrough", "-enc_time_base:v", "-1"]
        args += build_audio_args(plan, settings)
        args += ["-avoid_negative_ts", "disabled", "-f", "mpegts"]
        args += ["-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0"]
        args.append(str(_temporary(work.rendition_file(rung.name))))
    return args


def run_segment_job(
    work: SegmentWork, plan: LadderPlan, settings: WorkerSettings, accel: Accel = Accel.CPU
) -> None:
    """Produce the encoded rungs' segment; a segment already there is left as it is."""
    missing = [r for r in plan.encoded if not work.rendition_file(r.name).exists()]
    if not missing:
        return
    make_rung_dirs(work.camera_dir, [rung.name for rung in plan.encoded])
    run_ffmpeg(build_segment_command(plan, work, settings, accel), timeout_s=120)
    for rung in plan.encoded:
        target = work.rendition_file(rung.name)
        os.replace(_temporary(target), target)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")
