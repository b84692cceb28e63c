"""Live benchmark: how many cameras one edge records on this machine, and the publish lag of
a watched 1080p30 camera's source rendition and rungs.

    .venv/bin/python bench/live_bench.py recording [--counts 25,50,75] [--seconds 60]
    .venv/bin/python bench/live_bench.py lag [--seconds 60]

`recording`: N synthetic cameras publish 720p at 2 Mb/s (a pre-encoded clip, looped and
copied, so the publishers cost little) to one `sparc-video edge` for the given time,
recording only. Printed per N: the edge's CPU (its own and its FFmpeg recorders') per camera
and whether any segment was lost; then the largest N without loss. Target: at least 50.

`lag`: one 1080p30 camera, watched (a viewer session kept open), through the edge, the
scheduler and one CPU worker: p50 and p95 of the publish lag of the source rendition and of
each rung. Targets: source p95 under 0.5 s; rungs p95 under 6 s.
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import m3u8
from harness import CLI, Processes, answers, proc_cpu, wait_until

from workers.base.ports import free_port

CLIP_SECONDS = 12


def make_clip(path: Path, size: str, rate: int, kbps: int) -> Path:
    if not path.exists():
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate},noise=alls=6:allf=t",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(CLIP_SECONDS), "-c:v", "libx264", "-preset", "veryfast",
             "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
             "-g", str(2 * rate), "-keyint_min", str(2 * rate), "-sc_threshold", "0",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "mp4", str(path)],
            check=True,
        )  # fmt: skip
    return path


def publisher(clip: Path, url: str, seconds: int) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-stream_loop", "-1", "-i", str(clip), "-t", str(seconds), "-c", "copy",
        "-f", "rtsp", "-rtsp_transport", "tcp", url,
    ]  # fmt: skip


class Stack:
    """An API and an edge, sharing one SQLite database in `work` (their processes stopped,
    and nothing left behind, when it closes)."""

    def __init__(self, work: Path, extra_env: dict[str, str] | None = None) -> None:
        self.key = "sv_bench-admin-key-0123456789"
        work.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": self.key,
                    "SPARC_METRICS_PORT": "0", **(extra_env or {})}  # fmt: skip
        api_port, self.rtsp_port = free_port(), free_port()
        # Signed URLs and the console's origin check name the API where it really listens.
        self.env.setdefault("SPARC_PUBLIC_URL", f"http://127.0.0.1:{api_port}")
        self.processes = Processes(work)
        self.api = self.processes.start("api", [*CLI, "serve", "--port", str(api_port)],
                                        env=self.env)  # fmt: skip
        self.edge = self.processes.start("edge", [*CLI, "edge", "--port", str(self.rtsp_port)],
                                         env=self.env)  # fmt: skip
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{api_port}",
                                 headers={"Authorization": f"Bearer {self.key}"})  # fmt: skip
        self.media = work / "media" / "live"
        wait_until(lambda: answers(f"http://127.0.0.1:{api_port}/healthz"), 30, "the API")
        self.site = self.http.post("/api/sites", json={"name": "bench", "tier": 5}).json()["id"]

    def camera(self, name: str) -> tuple[str, str]:
        cam = self.http.post("/api/cameras", json={"site_id": self.site, "name": name}).json()
        url = (f"rtsp://{cam['rtsp_username']}:{cam['rtsp_password']}"
               f"@127.0.0.1:{self.rtsp_port}/cam/{cam['id']}")  # fmt: skip
        return cam["id"], url

    def offline(self) -> int:
        """How many cameras went offline (their recorders closed their last segment)."""
        params = {"type": "camera_offline", "limit": 500}  # the API gives at most 500
        return len(self.http.get("/api/events", params=params).json()["data"])

    def close(self) -> None:
        self.http.close()
        self.processes.close()


def recorded_seconds(playlist: Path) -> tuple[float, int]:
    if not playlist.exists():
        return 0.0, 0
    segments = m3u8.load(str(playlist)).segments
    return sum(float(s.duration) for s in segments), len(segments)


def run_recording(counts: list[int], seconds: int, work: Path) -> None:
    clip = make_clip(work / "clip720.mp4", "1280x720", 25, 2000)
    best = 0
    for count in counts:
        step = work / f"n{count}"
        stack = Stack(step, {"SPARC_LIVE_WINDOW": str(seconds)})
        cameras = [stack.camera(f"cam {n}") for n in range(count)]
        cpu_before = proc_cpu(stack.edge.pid)
        started = time.monotonic()
        runs = [stack.processes.quiet(publisher(clip, url, seconds)) for _, url in cameras]
        failures = sum(1 for run in runs if run.wait(seconds + 60) != 0)
        wait_until(lambda s=stack, n=count: s.offline() >= n, 30, "every recorder's last segment")
        cpu = proc_cpu(stack.edge.pid) - cpu_before
        wall = time.monotonic() - started
        lost = 0
        for camera_id, _ in cameras:
            total, count_segments = recorded_seconds(
                stack.media / camera_id / "source" / "index.m3u8"
            )
            if total < seconds - 7 or count_segments < seconds // 6 - 1:
                lost += 1
        stack.close()
        ok = lost == 0 and failures == 0
        best = count if ok else best
        print(f"N={count:3d}: edge+recorders CPU {cpu:6.1f} s over {wall:5.1f} s wall = "
              f"{100 * cpu / wall / count:5.2f}% of a core per camera; "
              f"publishers failed {failures}, cameras short of video {lost} "
              f"-> {'no segment lost' if ok else 'LOSS'}", flush=True)  # fmt: skip
        if not ok:
            break
    print(f"\nlargest N with no segment lost: {best}  (target >= 50)")


def run_lag(seconds: int, work: Path) -> None:
    clip = make_clip(work / "clip1080.mp4", "1920x1080", 30, 4500)
    stack = Stack(work / "lag")
    stack.processes.start("worker", [*CLI, "worker", "--hostname", "bench@lag"], env=stack.env)
    camera_id, url = stack.camera("watched")
    run = stack.processes.quiet(publisher(clip, url, seconds))
    time.sleep(3)
    session = stack.http.post(f"/api/cameras/{camera_id}/viewers").json()["session_id"]
    while run.poll() is None:
        stack.http.post(f"/api/cameras/{camera_id}/viewers/{session}/renew")
        time.sleep(2)
    time.sleep(8)  # the last jobs land
    lag = stack.http.get(f"/api/cameras/{camera_id}/lag").json()
    stack.close()
    print(f"publish lag of one watched 1080p30 camera over {seconds} s:")
    for name in sorted(lag, key=lambda n: (n != "source", n)):
        row = lag[name]
        print(f"{name:>7}: p50 {row['p50_s'] * 1000:7.0f} ms  p95 {row['p95_s'] * 1000:7.0f} ms"
              f"  ({row['samples']} segments)")  # fmt: skip
    print("targets: source p95 < 500 ms; rungs p95 < 6000 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["recording", "lag"])
    parser.add_argument("--counts", default="25,50,75")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sparc-live-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.mode == "recording":
        run_recording([int(n) for n in args.counts.split(",")], args.seconds, work)
    else:
        run_lag(args.seconds, work)


if __name__ == "__main__":
    main()
