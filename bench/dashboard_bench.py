"""The dashboard's load time: the web player's camera list, 1,000 cameras, in headless
Chromium, from navigation to the list rendered (target: under 2 s).

    .venv/bin/python bench/dashboard_bench.py [--cameras 1000] [--runs 5] [--workers 2]

It starts `sparc-video serve --workers N` (SQLite, the response cache in the embedded Redis),
creates the cameras and a viewer key for them, and a second key that sees no camera: the
baseline, the same page and browser with an empty list, in the same run. Each run is a
fresh browser (nothing cached by the browser), the API's cache warm after the first.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from api_load_bench import ADMIN_KEY, stop, wait_for

from workers.base.ports import free_port
from workers.base.redis_server import stop_embedded_redis

DRIVER = Path(__file__).parent.parent / "tests" / "browser" / "dashboard.mjs"


def measure(url: str, key: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        done = subprocess.run(["node", str(DRIVER), url, key], capture_output=True, text=True,
                              timeout=120, check=True)  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert "failure" not in result, result
        times.append(float(result["listedAtMs"]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-dashboard-bench-"))
    port = free_port()
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": ADMIN_KEY}
    command = [sys.executable, "-m", "video_service.cli", "serve", "--port", str(port),
               "--workers", str(args.workers)]  # fmt: skip
    with (work / "server.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
        empty = admin.post("/api/sites", json={"name": "empty"}).json()["id"]
        for n in range(args.cameras):
            admin.post("/api/cameras", json={"site_id": site, "name": f"Camera {n:04d}"})
        keys = {
            name: admin.post("/api/keys", json={"name": name, "scope": "viewer",
                                                "site_ids": [sites]}).json()["key"]
            for name, sites in (("full", site), ("empty", empty))
        }  # fmt: skip
        page = f"{base}/player/"
        rows = {
            "baseline: the page, no cameras": measure(page, keys["empty"], args.runs),
            f"{args.cameras} cameras": measure(page, keys["full"], args.runs),
        }
        print(f"navigation to the camera list rendered, headless Chromium, {args.runs} runs:")
        for name, times in rows.items():
            print(f"  {name:>32}: median {statistics.median(times):7.0f} ms  "
                  f"worst {max(times):7.0f} ms")  # fmt: skip
        full = statistics.median(rows[f"{args.cameras} cameras"])
        empty_ms = statistics.median(rows["baseline: the page, no cameras"])
        print(f"  ratio to the baseline: {full / empty_ms:.2f}; target: under 2000 ms")
    finally:
        stop(server)
        stop_embedded_redis(work / "redis")


if __name__ == "__main__":
    main()
