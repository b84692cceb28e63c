"""Edges sharing the cameras: recording-only cameras per edge with two edges on this machine,
and what camera ownership costs Redis.

    .venv/bin/python bench/edges_bench.py [--cameras 40] [--seconds 60]

One `sparc-video serve` and two `sparc-video edge` processes share a Redis (REDIS_URL, the
machine's by default, database 12) and a state directory. First, for `seconds`, no camera:
the Redis commands the three make by themselves (the baseline). Then `cameras` synthetic
cameras (720p at 2 Mb/s, a pre-encoded clip looped and copied) publish, half to each edge,
for `seconds`: each edge's CPU per camera, whether any segment was lost, which edge owns each
camera (its lease), and the Redis commands per camera per minute above the baseline, by
command (ownership renews with EVAL).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
from live_bench import make_clip, proc_cpu, publisher, recorded_seconds

from video_service.shared.ownership import owner_of
from workers.base.ports import free_port

KEY = "sv_bench-admin-key-0123456789"


def commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-edges-bench-"))
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": KEY,
           "REDIS_URL": args.redis, "SPARC_LIVE_WINDOW": str(args.seconds),
           "SPARC_WHEP_PORT": "0", "SPARC_METRICS_PORT": "0"}  # fmt: skip
    cli = [sys.executable, "-m", "video_service.cli"]
    api_port, rtsp = free_port(), [free_port(), free_port()]
    logs = [(work / f"{name}.log").open("wb") for name in ("api", "edge-1", "edge-2")]
    api = subprocess.Popen([*cli, "serve", "--port", str(api_port)], env=env,
                           stdout=logs[0], stderr=subprocess.STDOUT)  # fmt: skip
    edges = [subprocess.Popen([*cli, "edge", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
             for port, log in zip(rtsp, logs[1:], strict=True)]  # fmt: skip
    http = httpx.Client(base_url=f"http://127.0.0.1:{api_port}",
                        headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.get("/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        site = http.post("/api/sites", json={"name": "bench", "tier": 5}).json()["id"]
        clip = make_clip(work / "clip720.mp4", "1280x720", 25, 2000)
        cameras = []
        for n in range(args.cameras):
            cam = http.post("/api/cameras", json={"site_id": site, "name": f"cam {n}"}).json()
            url = (f"rtsp://{cam['rtsp_username']}:{cam['rtsp_password']}"
                   f"@127.0.0.1:{rtsp[n % 2]}/cam/{cam['id']}")  # fmt: skip
            cameras.append((cam["id"], url, n % 2))

        before = commands(client)
        time.sleep(args.seconds)
        idle = {k: v - before.get(k, 0) for k, v in commands(client).items()}

        cpu_before = [proc_cpu(e.pid) for e in edges]
        before = commands(client)
        started = time.monotonic()
        runs = [subprocess.Popen(publisher(clip, url, args.seconds), stderr=subprocess.DEVNULL)
                for _, url, _ in cameras]  # fmt: skip
        time.sleep(args.seconds / 2)
        owners = [owner_of(client, cam) for cam, _, _ in cameras]
        failures = sum(1 for run in runs if run.wait(args.seconds + 60) != 0)
        wall = time.monotonic() - started
        busy = {k: v - before.get(k, 0) for k, v in commands(client).items()}
        time.sleep(3)  # the recorders close their last segment
        cpu = [proc_cpu(e.pid) - b for e, b in zip(edges, cpu_before, strict=True)]
        lost = 0
        for camera_id, _, _ in cameras:
            total, count = recorded_seconds(work / "media" / "live" / camera_id / "source"
                                            / "index.m3u8")  # fmt: skip
            if total < args.seconds - 7 or count < args.seconds // 6 - 1:
                lost += 1
        right = sum(1 for owner, (_, _, edge) in zip(owners, cameras, strict=True)
                    if owner is not None and owner.edge.endswith(f":{rtsp[edge]}"))  # fmt: skip
        per_edge = args.cameras / 2
        print(f"{args.cameras} cameras over 2 edges for {wall:.0f} s: publishers failed "
              f"{failures}, cameras short of video {lost}, owned by the edge they publish to "
              f"{right}/{args.cameras}")  # fmt: skip
        for index, seconds in enumerate(cpu):
            share = seconds / wall
            per_core = per_edge / share if share else 0.0
            each = 100 * share / per_edge
            print(f"edge {index + 1}: {100 * share:5.1f}% of a core for {per_edge:.0f} cameras "
                  f"= {each:5.2f}% per camera (~{per_core:.0f} per core)")  # fmt: skip
        minutes = wall / 60
        print(f"Redis commands per camera per minute above the baseline (no camera, "
              f"{sum(idle.values()) / (args.seconds / 60):.0f}/min in all):")  # fmt: skip
        rows = sorted(busy, key=lambda k: -(busy[k] - idle.get(k, 0)))
        for name in rows[:8]:
            extra = (busy[name] - idle.get(name, 0) * wall / args.seconds) / minutes / args.cameras
            if extra > 0.05:
                print(f"  {name:>10}: {extra:6.1f}")
        total = sum(busy.values()) - sum(idle.values()) * wall / args.seconds
        print(f"  {'all':>10}: {total / minutes / args.cameras:6.1f}  "
              f"(ownership's share: EVAL, 12 a minute by design)")  # fmt: skip
    finally:
        for process in (*edges, api):
            process.send_signal(signal.SIGINT)
        for process in (*edges, api):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        http.close()


if __name__ == "__main__":
    main()
