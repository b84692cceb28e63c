"""Benchmark: our one-process ladder against five per-rung FFmpeg processes, side by side.

Both transcode the same generated 1080p30 source (film-like noise, so it is not trivial to
encode), alternating, with the same encoder settings: the baseline runs each rung as its own
job, as a job-per-resolution pipeline would, in parallel. Printed: CPU-seconds ours/baseline,
wall ours/baseline, and each rung's SSIM against the source scaled to that rung.

    .venv/bin/python bench/ladder_bench.py [--seconds 30] [--rounds 2]

Targets (issue 2): CPU ratio <= 0.45; no rung's SSIM more than 0.005 below the baseline's.
"""

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from workers.base.process import run_ffmpeg
from workers.base.settings import WorkerSettings
from workers.engine.commands import build_ladder_command
from workers.engine.file_job import run_transcode
from workers.engine.inputs import parse_input
from workers.engine.ladder import LadderPlan, RungPlan, plan_ladder
from workers.engine.probe import probe_source


def make_source(path: Path, seconds: int) -> None:
    graph = "testsrc2=size=1920x1080:rate=30,noise=alls=14:allf=t+u"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", graph, "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
         "-b:v", "6M", "-maxrate", "7M", "-bufsize", "12M",
         "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", str(path)],
        check=True,
    )  # fmt: skip


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(action: Callable[[], None]) -> tuple[float, float]:
    """(CPU-seconds of the processes it ran, wall seconds)."""
    cpu, wall = children_cpu(), time.perf_counter()
    action()
    return children_cpu() - cpu, time.perf_counter() - wall


def ours(source: Path, outdir: Path, settings: WorkerSettings) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    run_transcode(str(source), outdir, settings)


def baseline_plans(plan: LadderPlan) -> list[LadderPlan]:
    return [
        LadderPlan(
            rungs=(RungPlan(r.name, r.width, r.height, r.video_kbps, copy=False),),
            keyframes=plan.keyframes,
            audio=plan.audio,
            segment_seconds=plan.segment_seconds,
        )
        for r in plan.rungs
    ]


def baseline(source: Path, outdir: Path, settings: WorkerSettings, plan: LadderPlan) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    ref = parse_input(str(source), settings)
    commands = []
    for single in baseline_plans(plan):
        (outdir / single.rungs[0].name).mkdir(parents=True)
        commands.append(build_ladder_command(single, ref, outdir, settings))
    with ThreadPoolExecutor(len(commands)) as pool:
        for done in pool.map(lambda c: run_ffmpeg(c, timeout_s=3600), commands):
            assert done.returncode == 0


def rung_ssim(rung_dir: Path, source: Path, width: int, height: int, scratch: Path) -> float:
    joined = scratch / f"{rung_dir.parent.name}-{rung_dir.name}.ts"
    with joined.open("wb") as out:
        for segment in sorted(rung_dir.glob("seg_*.ts")):
            out.write(segment.read_bytes())
    graph = (
        f"[0:v]setpts=PTS-STARTPTS[dist];"
        f"[1:v]setpts=PTS-STARTPTS,scale={width}:{height}[ref];[dist][ref]ssim"
    )
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(joined), "-i", str(source),
         "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"All:([0-9.]+)", done.stderr)
    assert match, done.stderr[-500:]
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sparc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = WorkerSettings(allowed_roots=[work])
    source = work / "source.mp4"
    if not source.exists():
        print(f"generating {args.seconds} s of noisy 1080p30 H.264 ...", flush=True)
        make_source(source, args.seconds)
    info = probe_source(parse_input(str(source), settings), settings)
    plan = plan_ladder(info, settings)
    print(f"source: {info.video.width}x{info.video.height} {info.video.codec} "
          f"{(info.video.bit_rate or 0) / 1e6:.2f} Mb/s, {info.duration_s:.1f} s")  # fmt: skip
    print("ladder: " + ", ".join(f"{r.name}{' (copy)' if r.copy else ''}" for r in plan.rungs))
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], "baseline": []}
    for round_ in range(1, args.rounds + 1):
        order = ["ours", "baseline"] if round_ % 2 else ["baseline", "ours"]
        for name in order:
            outdir = work / name
            if name == "ours":
                cpu, wall = measure(lambda out=outdir: ours(source, out, settings))
            else:
                cpu, wall = measure(lambda out=outdir: baseline(source, out, settings, plan))
            runs[name].append((cpu, wall))
            print(f"round {round_} {name:>8}: cpu {cpu:7.1f} s  wall {wall:6.1f} s", flush=True)
    pairs = list(zip(runs["ours"], runs["baseline"], strict=True))
    cpu_ratio = statistics.mean(o[0] / b[0] for o, b in pairs)
    wall_ratio = statistics.mean(o[1] / b[1] for o, b in pairs)
    print(f"\nCPU-seconds ratio ours/baseline: {cpu_ratio:.3f}  (target <= 0.45)")
    print(f"wall ratio ours/baseline:        {wall_ratio:.3f}")
    print("\nSSIM against the source scaled to each rung:")
    print(f"{'rung':>6} {'ours':>8} {'baseline':>9} {'diff':>8}")
    worst = 0.0
    for rung in plan.rungs:
        mine = rung_ssim(work / "ours" / rung.name, source, rung.width, rung.height, work)
        theirs = rung_ssim(work / "baseline" / rung.name, source, rung.width, rung.height, work)
        worst = min(worst, mine - theirs)
        print(f"{rung.name:>6} {mine:8.5f} {theirs:9.5f} {mine - theirs:+8.5f}")
    print(f"\nworst SSIM difference: {worst:+.5f}  (target >= -0.005)")
    verdict = cpu_ratio <= 0.45 and worst >= -0.005
    print("targets met" if verdict else "TARGETS MISSED")


if __name__ == "__main__":
    main()
