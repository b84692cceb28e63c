"""Playback benchmark: wrk, a load generator in its own process on loopback, asks for
playback URLs and for signed playlists at 1,000 concurrent connections.

    .venv/bin/python bench/playback_bench.py [--seconds 20] [--connections 1000] [--workers 2]

It starts `sparc-video serve` (the API and its origin, with N server workers) and
`sparc-video edge`, publishes one camera, gets a viewer key, then runs wrk against
(1) GET /api/cameras/{id}/playback (a viewer session and a signed URL each) and
(2) the camera's signed live media playlist through the origin (token checked, every URI
re-signed, from the rewrite cache). Printed: requests/s, p50, p95, errors.
Targets: p95 under 200 ms, no errors, at least 2,000 signed playlist responses per second.
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

from workers.ports import free_port

LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, errors))
end
"""


def wrk(
    url: str, seconds: int, connections: int, key: str | None, script: Path
) -> dict[str, float]:
    header = ["-H", f"Authorization: Bearer {key}"] if key else []
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
         *header, "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    requests, duration, p50, p95, errors = (float(g) for g in match.groups())
    if requests == 0:
        print(done.stdout, file=sys.stderr)
    return {"rps": requests / duration, "p50_ms": p50, "p95_ms": p95, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
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
        rows = {
            "signed playlist": wrk(playlist_url, args.seconds, args.connections, None, script),
            "playback URL": wrk(
                f"{base}{playback_path}", args.seconds, args.connections, key, script
            ),
        }
        for name, row in rows.items():
            print(f"{name:>16}: {row['rps']:8.0f} req/s  p50 {row['p50_ms']:7.1f} ms  "
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


if __name__ == "__main__":
    main()
