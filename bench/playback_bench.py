"""Playback benchmark: wrk, a load generator in its own process on loopback, asks for what
players ask for most, at 1,000 concurrent connections, each against hello-world in the same
run.

    .venv/bin/python bench/playback_bench.py [--seconds 20] [--connections 1000] [--workers 2]

It starts `sparc-video serve` (the API and its origin, with N server workers), `sparc-video
edge` and a CPU worker, publishes two cameras (640x360: a planned ladder of the source and
240p), watches one (a viewer session kept open, so the worker makes its 240p rung), and
measures, each saturated (every connection asks again as soon as it is answered: the most the
server answers per second):
- hello-world: an ASGI app with nothing to do on the same server stack (uvicorn, uvloop,
  httptools, N processes): the baseline;
- the watched camera's signed source playlist (token checked, every URI re-signed);
- its 240p rung's playlist, made by the worker;
- the other camera's 240p playlist: planned, not written by any worker (an empty playlist
  at the source's media sequence, which any client may ask for);
- GET /api/cameras/{id}/playback (a viewer session and a signed URL each).
Then the signed source playlist again, paced at `--rate` (the connections together offer
about that many requests per second): latency and errors at the load the targets name.
Printed: requests/s and its ratio to hello-world's, p50, p95, errors.
Targets: each signed playlist at least 0.3x hello-world's rate; paced p95 under 200 ms, no
errors.

The 1,000 connections open at once; each one's first request is spread uniformly over the
first `--ramp-ms` (2 s), as viewers do not all press play in the same millisecond.
"""

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import m3u8
from harness import (
    CLI,
    Processes,
    answers,
    leftovers,
    start_hello_world,
    wait_until,
)

from workers.base.ports import free_port

PACE = """
local mean_ms = tonumber(os.getenv("PACE_MEAN_MS") or "0")
local ramp_ms = tonumber(os.getenv("RAMP_MS") or "0")
local firsts = tonumber(os.getenv("PER_THREAD") or "0")
delay = function()
  if firsts > 0 then  -- each connection's first request: spread over the ramp
    firsts = firsts - 1
    return math.random(0, ramp_ms)
  end
  if mean_ms > 0 then
    return math.random(0, 2 * mean_ms)
  end
  return 0
end
"""

LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, errors))
  io.write(string.format("ERRORS connect %d read %d write %d timeout %d status %d\\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
"""


def wrk(
    url: str,
    seconds: int,
    connections: int,
    key: str | None,
    script: Path,
    rate: float | None = None,
    ramp_ms: int = 0,
) -> dict[str, float]:
    header = ["-H", f"Authorization: Bearer {key}"] if key else []
    pace = script.with_name("paced.lua")
    pace.write_text(PACE + script.read_text())
    env = {
        **os.environ,
        "PACE_MEAN_MS": str(int(1000 * connections / rate)) if rate else "0",
        "RAMP_MS": str(ramp_ms),
        "PER_THREAD": str(connections // 2),
    }
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
         *header, "-s", str(pace), url],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    match = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    requests, duration, p50, p95, errors = (float(g) for g in match.groups())
    kinds = re.search(r"ERRORS (.*)", done.stdout)
    if errors and kinds:
        print(f"  ({url.split('?')[0][-40:]}: errors {kinds.group(1)})")
    if requests == 0:
        print(done.stdout, file=sys.stderr)
    return {"rps": requests / duration, "p50_ms": p50, "p95_ms": p95, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate",
        type=float,
        default=2000,
        help="the paced run: signed playlist requests per second offered",
    )
    parser.add_argument(
        "--ramp-ms",
        type=int,
        default=2000,
        help="spread each connection's first request over this long",
    )
    args = parser.parse_args()  # fmt: skip
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="sparc-playback-bench-"))
    with Processes(work) as processes:
        run(args, work, processes)
    assert not leftovers(work), "a process was left behind"


def run(args: argparse.Namespace, work: Path, processes: Processes) -> None:
    api_port, rtsp_port = free_port(), free_port()
    admin_key = "sv_bench-admin-key-0123456789"
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": admin_key,
           "SPARC_PUBLIC_URL": f"http://127.0.0.1:{api_port}", "SPARC_SEGMENT_SECONDS": "2",
           "SPARC_ALLOWED_ROOTS": str(work), "SPARC_METRICS_PORT": "0"}  # fmt: skip
    processes.start("api", [*CLI, "serve", "--port", str(api_port), "--workers",
                            str(args.workers)], env=env)  # fmt: skip
    processes.start("edge", [*CLI, "edge", "--port", str(rtsp_port)], env=env)
    processes.start("worker", [*CLI, "worker", "--hostname", "bench@playback"], env=env)
    base = f"http://127.0.0.1:{api_port}"
    wait_until(lambda: answers(f"{base}/healthz"), 30, "the API")
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"})
    site = admin.post("/api/sites", json={"name": "bench", "tier": 5}).json()
    cameras = [admin.post("/api/cameras", json={"site_id": site["id"], "name": name}).json()
               for name in ("watched", "unwatched")]  # fmt: skip
    key = admin.post("/api/keys", json={"name": "viewer", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    admin.close()
    for camera in cameras:
        url = (f"rtsp://{camera['rtsp_username']}:{camera['rtsp_password']}@127.0.0.1:"
               f"{rtsp_port}/cam/{camera['id']}")  # fmt: skip
        processes.quiet(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                         "-i", "testsrc2=size=640x360:rate=10", "-c:v", "libx264",
                         "-preset", "ultrafast", "-g", "20", "-f", "rtsp",
                         "-rtsp_transport", "tcp", url])  # fmt: skip
    viewer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})
    watched, unwatched = (f"/api/cameras/{camera['id']}/playback" for camera in cameras)
    wait_until(lambda: viewer.get(watched).status_code == 200, 60, "the watched camera online")
    answer = viewer.get(watched).json()  # a viewer session: the 240p rung is made
    keeping = threading.Event()
    renew = f"/api/cameras/{cameras[0]['id']}/viewers/{answer['session_id']}/renew"
    threading.Thread(target=_keep_watching, args=(viewer, renew, keeping), daemon=True).start()
    source, made = _variants(answer["url"])
    wait_until(lambda: len(m3u8.loads(httpx.get(made).text).segments) >= 2, 60, "the 240p rung")
    # The other camera's URL without a viewer session: its live playback would open one,
    # which queues its last segments for the worker (and its 240p rung would be written).
    # A recording's URL carries the same grant (the camera's path) and counts no viewer.
    token = wait_until(lambda: _recorded_token(viewer, unwatched), 60, "the other camera recorded")
    unwritten = (made.split("?", 1)[0].replace(cameras[0]["id"], cameras[1]["id"])
                 + f"?token={token}")  # fmt: skip
    wait_until(lambda: httpx.get(unwritten).status_code == 200, 60, "the other camera's plan")
    planned = httpx.get(unwritten)
    assert planned.status_code == 200 and not m3u8.loads(planned.text).segments, planned.text
    script = work / "report.lua"
    script.write_text(LUA)
    c, t, r = args.connections, args.seconds, args.ramp_ms
    print(f"{c} connections, {t} s each, {args.workers} server workers, wrk on loopback")
    hello = start_hello_world(processes, args.workers)
    rows = {"hello-world (the baseline)": wrk(hello, t, c, None, script, ramp_ms=r)}
    rows["signed source playlist"] = wrk(source, t, c, None, script, ramp_ms=r)
    rows["signed rung playlist, made"] = wrk(made, t, c, None, script, ramp_ms=r)
    rows["signed rung playlist, unwritten"] = wrk(unwritten, t, c, None, script, ramp_ms=r)
    rows["playback URL"] = wrk(f"{base}{watched}", t, c, key, script, ramp_ms=r)
    rows[f"signed source playlist, paced {args.rate:.0f}/s"] = wrk(
        source, t, c, None, script, rate=args.rate, ramp_ms=r
    )
    keeping.set()
    viewer.close()
    baseline = rows["hello-world (the baseline)"]["rps"]
    for name, row in rows.items():
        print(f"{name:>40}: {row['rps']:8.0f} req/s ({row['rps'] / baseline:4.2f}x)  "
              f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
              f"errors {row['errors']:.0f}")  # fmt: skip
    print("targets: each signed playlist >= 0.30x hello-world; paced p95 < 200 ms, no errors")


def _variants(master_url: str) -> tuple[str, str]:
    """The signed URLs of the master's source and 240p playlists."""
    master = m3u8.loads(httpx.get(master_url).text)
    by_rung = {urlsplit(p.uri).path.rsplit("/", 2)[1]: p.uri for p in master.playlists}
    return by_rung["source"], by_rung["240p"]


def _recorded_token(viewer: httpx.Client, playback: str) -> str | None:
    """The origin token of a recorded-playback URL of the last 10 minutes (None until the
    camera has a segment recorded); no viewer session is opened."""
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(minutes=10)).isoformat(), "end": now.isoformat()}
    answer = viewer.get(playback, params=window)
    if answer.status_code != 200:
        return None
    return parse_qs(urlsplit(answer.json()["url"]).query)["token"][0]


def _keep_watching(viewer: httpx.Client, renew: str, stop: threading.Event) -> None:
    while not stop.wait(5):
        with contextlib.suppress(httpx.TransportError):
            viewer.post(renew)


if __name__ == "__main__":
    main()
