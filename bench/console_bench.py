"""The console's wall, timed in headless Chromium against a platform of 10 sites and 1,000
cameras, 16 of them publishing (a main stream of 1280x720 at 2 Mb/s and a sub-stream of
640x360 at 0.5 Mb/s, copied from clips: the publishers cost little).

    .venv/bin/python bench/console_bench.py [--sites 10] [--cameras 1000] [--tiles 16]
        [--hold 15]

A `sparc-video serve` and a `sparc-video edge` (live view on), an operator of the first
site made through the API. Printed:

1. sign-in to a wall of 16 with every tile playing live video (target: under 3 s);
2. a second visit: navigation to every tile showing its still picture or its video (the
   first paint an operator sees; target: under 2 s), and whether the page came from the
   service worker;
3. while the wall plays (`--hold` seconds): the edge's CPU above its CPU with the cameras
   publishing and no one watching, and the browser's (every Chromium process).
"""

import argparse
import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from harness import proc_cpu, wait_until
from live_bench import Stack
from walls_bench import clip, publisher

from workers.base.ports import free_port

DRIVER = Path(__file__).parent.parent / "tests" / "browser" / "console_timing.mjs"
PASSWORD = "bench console password"


def chromium_cpu(driver_pid: int) -> float:
    """CPU seconds of the driver's Chromium processes (every descendant of the driver)."""
    total = 0.0
    for pid in descendants(driver_pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # gone meanwhile
            total += proc_cpu(pid)
    return total


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = task / "children"
            if children.exists():
                kids = [int(p) for p in children.read_text().split()]
                found.extend(kids)
                queue.extend(kids)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--tiles", type=int, default=16)
    parser.add_argument("--hold", type=float, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-console-bench-"))
    whep_port = free_port()
    stack = Stack(work, {"SPARC_WHEP_PORT": str(whep_port),
                         "SPARC_WHEP_URL": f"http://127.0.0.1:{whep_port}",
                         "SPARC_SEGMENT_SECONDS": "2"})  # fmt: skip
    publishers: list[subprocess.Popen[bytes]] = []
    try:
        http = stack.http
        sites = [stack.site] + [
            http.post("/api/sites", json={"name": f"site {n}"}).json()["id"]
            for n in range(1, args.sites)
        ]
        per_site = args.cameras // args.sites
        urls = [stack.camera(f"wall {n}")[1] for n in range(args.tiles)]
        for index, site in enumerate(sites):
            for n in range(per_site - (args.tiles if index == 0 else 0)):
                http.post("/api/cameras", json={"site_id": site, "name": f"cam {index}.{n}"})
        main_clip = clip(work / "main.mp4", "1280x720", 2000)
        sub_clip = clip(work / "sub.mp4", "640x360", 500)
        for url in urls:
            publishers.append(stack.processes.quiet(publisher(main_clip, url, 600)))
            publishers.append(stack.processes.quiet(publisher(sub_clip, url + "/sub", 600)))
        user = {
            "username": "olga",
            "password": PASSWORD,
            "role": "operator",
            "site_ids": [sites[0]],
        }
        http.post("/api/users", json=user).raise_for_status()
        first = f"/api/cameras?site_id={sites[0]}&limit=100"
        ids = [c["id"] for c in http.get(first).json()["data"]][: args.tiles]
        wait_until(lambda: all(http.get(f"/api/cameras/{i}").json()["sub_stream"] for i in ids),
                   60, "every sub-stream live")  # fmt: skip
        time.sleep(3)
        idle = cpu_of(stack.edge.pid, args.hold)
        base = str(http.base_url).rstrip("/")
        env = {**os.environ, "CONSOLE_PASSWORD": PASSWORD}
        driver = subprocess.Popen(
            ["node", str(DRIVER), base, "olga", sites[0], str(args.tiles), str(args.hold)],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert driver.stdout is not None
        results: dict[str, dict[str, object]] = {}
        edge_cpu = browser_cpu = 0.0
        for line in driver.stdout:
            said = json.loads(line)
            assert said["step"] != "error", said
            results[said["step"]] = said
            if said["step"] == "holding":
                edge_cpu, browser_cpu = hold(stack.edge.pid, driver.pid, args.hold - 2)
        driver.wait(60)
        tiles = args.tiles
        print(f"console, {args.sites} sites, {args.cameras} cameras, a wall of {tiles}:")
        print(f"  sign-in to every tile live: {results['live']['ms']} ms (target < 3000)")
        print("  where it went (ms after the click: first start, last end):")
        for kind, seen in dict(results["live"]["breakdown"]).items():  # type: ignore[call-overload]
            print(f"    {kind}: {json.dumps(seen)}")
        second = results["second visit"]
        print(f"  second visit, every tile's picture: {second['ms']} ms (target < 2000); "
              f"paints {second['paints']}; from the service worker: "
              f"{second['fromServiceWorker']}")  # fmt: skip
        print(f"  the edge: {100 * idle:.1f}% of a core with no one watching, "
              f"{100 * edge_cpu:.1f}% with the wall open: "
              f"{100 * (edge_cpu - idle) / tiles:.2f}% per tile")  # fmt: skip
        print(f"  the browser (every Chromium process): {100 * browser_cpu:.1f}% of a core")
    finally:
        for process in publishers:
            process.terminate()
        for process in publishers:
            process.wait(20)
        stack.close()


def cpu_of(pid: int, seconds: float) -> float:
    before, started = proc_cpu(pid), time.monotonic()
    time.sleep(seconds)
    return (proc_cpu(pid) - before) / (time.monotonic() - started)


def hold(edge_pid: int, driver_pid: int, seconds: float) -> tuple[float, float]:
    """The edge's and the browser's CPU while the wall plays (a core's share each)."""
    time.sleep(1)
    found: dict[str, float] = {}

    def browser() -> None:
        before, started = chromium_cpu(driver_pid), time.monotonic()
        time.sleep(seconds)
        found["browser"] = (chromium_cpu(driver_pid) - before) / (time.monotonic() - started)

    thread = threading.Thread(target=browser)
    thread.start()
    edge = cpu_of(edge_pid, seconds)
    thread.join()
    return edge, found["browser"]


if __name__ == "__main__":
    main()
