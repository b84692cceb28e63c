"""Playback benchmark: wrk, a load generator in its own process on loopback, asks for
playback URLs and for signed playlists at 1,000 concurrent connections.

    .venv/bin/python bench/playback_bench.py [--seconds 20] [--connections 1000] [--workers 2]

It starts `sparc-video serve` (the API and its origin, with N server workers) and
`sparc-video edge`, publishes one camera, gets a viewer key, then runs wrk against
(1) GET /api/cameras/{id}/playback (a viewer session and a signed URL each) and
(2) the camera's signed live media playlist through the origin (token checked, every URI
re-signed, from the rewrite cache). Printed: requests/s, p50, p95, errors.
Targets: p95 under 200 ms, no errors, at least 2,000 signed playlist responses per second.

Each endpoint is measured twice over the same 1,000 connections:
- saturated: every connection asks again as soon as it is answered (closed loop): the most
  the server answers per second. Latency then is queueing: 1,000 connections at R answers
  per second wait about 1000/R s each whatever the server does, so a p95 under 200 ms in
  this mode would need more than 5,000 answers per second.
- paced: the connections together offer about `--rate` requests per second (before each
  request a connection waits a random time, uniform in [0, 2 x connections / rate] s), the
  load the targets name: latency and errors at 2,000 signed playlists per second. The
  answered rate printed is a little under the offered one (the wait adds to the latency).
The 1,000 connections open at once; each one's first request is spread uniformly over the
first `--ramp-ms` (2 s), as viewers do not all press play in the same millisecond. With
`--ramp-ms 0` (1,000 first requests at once) a saturated run here has had 100-250 requests
(under 0.1 %) wait past wrk's 5 s timeout while connections were still being accepted,
for this server and, in some runs, for the hello-world baseline too.
The first row is that baseline: a hello-world ASGI app on the same server stack (uvicorn,
uvloop, httptools, N processes), saturated, in the same run.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import m3u8

from workers.base.ports import free_port
from workers.base.redis_server import stop_embedded_redis

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


def hello_world(
    seconds: int, connections: int, script: Path, workers: int, work: Path, ramp_ms: int
) -> dict[str, float]:
    """The same server (uvicorn, uvloop, httptools, N processes) with nothing to do."""
    port = free_port()
    with (work / "hello.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hello_asgi:app", "--port", str(port),
             "--workers", str(workers), "--no-access-log", "--backlog", "4096"],
            cwd=Path(__file__).parent, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the baseline server did not start"
                time.sleep(0.2)
        return wrk(f"http://127.0.0.1:{port}/", seconds, connections, None, script, ramp_ms=ramp_ms)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate",
        type=float,
        default=2000,
        help="paced runs: signed playlist requests per second offered",
    )
    parser.add_argument(
        "--playback-rate",
        type=float,
        default=2000,
        help="paced runs: playback URL requests per second offered",
    )
    parser.add_argument(
        "--only", choices=("playlist", "playback"), default=None, help="one endpoint only"
    )
    parser.add_argument(
        "--ramp-ms", type=int, default=2000,
        help="spread each connection's first request over this long (0: all at once)",
    )  # fmt: skip
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="sparc-playback-bench-"))
    api_port, rtsp_port = free_port(), free_port()
    admin_key = "sv_bench-admin-key-0123456789"
    env = {
        **os.environ,
        "SPARC_STATE_DIR": str(work),
        "SPARC_ADMIN_KEY": admin_key,
        "SPARC_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "SPARC_SEGMENT_SECONDS": "2",
    }
    cli = [sys.executable, "-m", "video_service.cli"]
    serve = [*cli, "serve", "--port", str(api_port), "--workers", str(args.workers)]
    with (work / "api.log").open("wb") as log:
        api = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT)
    with (work / "edge.log").open("wb") as log:
        edge = subprocess.Popen([*cli, "edge", "--port", str(rtsp_port)], env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{api_port}"
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"})
    publisher = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.get("/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.2)
        site = admin.post("/api/sites", json={"name": "bench", "tier": 5}).json()
        camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "cam"}).json()
        key = admin.post("/api/keys", json={"name": "viewer", "scope": "viewer",
                                            "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
        url = (f"rtsp://{camera['rtsp_username']}:{camera['rtsp_password']}@127.0.0.1:"
               f"{rtsp_port}/cam/{camera['id']}")  # fmt: skip
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", "testsrc2=size=640x360:rate=10", "-c:v", "libx264", "-preset", "ultrafast",
             "-g", "20", "-f", "rtsp", "-rtsp_transport", "tcp", url],
            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        viewer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})
        playback_path = f"/api/cameras/{camera['id']}/playback"
        while viewer.get(playback_path).status_code != 200:
            assert time.monotonic() < deadline + 30, "the camera did not come online"
            time.sleep(0.5)
        master_url = viewer.get(playback_path).json()["url"]
        master = m3u8.loads(httpx.get(master_url).text)
        playlist_url = master.playlists[-1].uri
        assert httpx.get(playlist_url).status_code == 200
        script = work / "report.lua"
        script.write_text(LUA)
        print(f"{args.connections} connections, {args.seconds} s each, {args.workers} server "
              f"workers, wrk on loopback")  # fmt: skip
        playback_url = f"{base}{playback_path}"
        c, t, r = args.connections, args.seconds, args.ramp_ms
        rows = {}
        if args.only is None:
            rows["baseline: hello-world ASGI"] = hello_world(t, c, script, args.workers, work, r)
        if args.only in (None, "playlist"):
            rows["signed playlist, saturated"] = wrk(playlist_url, t, c, None, script, ramp_ms=r)
            rows[f"signed playlist, paced {args.rate:.0f}/s"] = wrk(
                playlist_url, t, c, None, script, rate=args.rate, ramp_ms=r
            )
        if args.only in (None, "playback"):
            rows["playback URL, saturated"] = wrk(playback_url, t, c, key, script, ramp_ms=r)
            rows[f"playback URL, paced {args.playback_rate:.0f}/s"] = wrk(
                playback_url, t, c, key, script, rate=args.playback_rate, ramp_ms=r
            )
        for name, row in rows.items():
            print(f"{name:>32}: {row['rps']:8.0f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                  f"p95 {row['p95_ms']:7.1f} ms  errors {row['errors']:.0f}")  # fmt: skip
        print("targets: p95 < 200 ms, no errors, >= 2000 signed playlist responses/s")
        print(f"(playlist URL path: {urlsplit(playlist_url).path})")
    finally:
        if publisher is not None:
            publisher.kill()
        for process in (edge, api):
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        admin.close()
        stop_embedded_redis(work / "redis")  # the API started it (no REDIS_URL here)


if __name__ == "__main__":
    main()
