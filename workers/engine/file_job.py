"""Turn one input file into a VOD ladder: parse, probe, plan, run FFmpeg once, write the
master, publish.

Plain functions, no Celery: the CLI calls `run_transcode` directly and the task calls it too.
Live video is not transcoded here: the live ladder is per segment (`workers.engine.live_ladder`),
so that work follows viewers, runs in priority order and survives a lost worker.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workers.base.errors import FFmpegFailed, StorageUnavailable
from workers.base.layout import MASTER_PLAYLIST
from workers.base.process import run_ffmpeg
from workers.base.progress import Progress
from workers.base.settings import WorkerSettings
from workers.engine.commands import Accel, build_ladder_command
from workers.engine.errors import UnsupportedInput
from workers.engine.inputs import SourceRef, parse_input
from workers.engine.ladder import LadderPlan, plan_ladder
from workers.engine.outputs import (
    check_output_location,
    discard_staging,
    make_rung_dirs,
    open_staging,
    publish_staging,
)
from workers.engine.playlists import Rendition, describe_rendition, write_master_playlist
from workers.engine.probe import SourceInfo, probe_source


@dataclass(frozen=True)
class Report:
    """What a job's status shows while it runs."""

    percent: float | None
    speed: float | None
    out_time_s: float


@dataclass(frozen=True)
class TranscodeResult:
    outdir: Path
    master: Path
    plan: LadderPlan
    renditions: tuple[Rendition, ...]


ReportSink = Callable[[Report], None]

_STORAGE_FAULTS = ("No space left on device", "Read-only file system", "Input/output error")
_DAMAGED_INPUT = (
    "partial file",
    "corrupt input packet",
    "Invalid data found",
    "Invalid NAL unit",
    "error while decoding",
    "Truncat",
)


def run_transcode(
    raw_input: str,
    outdir: Path,
    settings: WorkerSettings,
    *,
    accel: Accel = Accel.CPU,
    on_report: ReportSink | None = None,
    named_here: bool = False,
) -> TranscodeResult:
    """`named_here`: the input was named on this machine's command line by its user, so a
    local file is read wherever it is (the allowed roots guard what comes through the queue
    and the API)."""
    source = parse_input(raw_input, settings, named_here=named_here)
    outdir = check_output_location(outdir)
    info = probe_source(source, settings)
    plan = plan_ladder(info, settings)
    staging = open_staging(outdir)
    try:
        renditions = _build_ladder(source, info, plan, staging, settings, accel, on_report)
        publish_staging(staging, outdir)
    except BaseException:
        discard_staging(staging)
        raise
    return TranscodeResult(outdir, outdir / MASTER_PLAYLIST, plan, renditions)


def _build_ladder(
    source: SourceRef,
    info: SourceInfo,
    plan: LadderPlan,
    target: Path,
    settings: WorkerSettings,
    accel: Accel,
    on_report: ReportSink | None,
) -> tuple[Rendition, ...]:
    make_rung_dirs(target, [rung.name for rung in plan.rungs])
    command = build_ladder_command(plan, source, target, settings, accel=accel)
    _run(command, source, info, settings, _reporter(info, on_report))
    renditions = _describe(plan, target, settings)
    write_master_playlist(target, renditions)
    return renditions


def _describe(plan: LadderPlan, target: Path, settings: WorkerSettings) -> tuple[Rendition, ...]:
    renditions = []
    for rung in plan.rungs:
        rendition = describe_rendition(rung.name, target / rung.name, settings)
        if rendition is None:
            raise UnsupportedInput(f"the input gave no video for the {rung.name} rung")
        renditions.append(rendition)
    return tuple(renditions)


def _reporter(info: SourceInfo, on_report: ReportSink | None) -> Callable[[Progress], None]:
    def report(progress: Progress) -> None:
        if on_report is not None:
            percent = progress.percent_of(info.duration_s)
            on_report(Report(percent, progress.speed, progress.out_time_s))

    return report


def _run(
    command: list[str],
    source: SourceRef,
    info: SourceInfo,
    settings: WorkerSettings,
    on_progress: Callable[[Progress], None],
) -> None:
    try:
        run_ffmpeg(command, timeout_s=settings.ffmpeg_timeout_s, on_progress=on_progress)
    except FFmpegFailed as failure:
        raise _classify(failure, source) from failure


def _classify(failure: FFmpegFailed, source: SourceRef) -> Exception:
    tail = failure.stderr_tail
    if any(fault in tail for fault in _STORAGE_FAULTS):
        return StorageUnavailable(f"writing the ladder failed: {_last_line(tail)}")
    name = source.path.name if source.path else source.url
    if any(sign in tail for sign in _DAMAGED_INPUT):
        return UnsupportedInput(f"{name} is damaged or truncated: {_last_line(tail)}")
    return failure


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
