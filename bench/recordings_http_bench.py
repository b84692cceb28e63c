"""The recording routes as users hit them, over HTTP, with the index at size: a `sparc-video
serve --workers 2` on PostgreSQL holding seven days of 1,000 cameras' recording index (as
bench/recordings_bench.py fills it), and 16 clients at once on each route in turn for
`--seconds`: the spans of the last 24 hours, recorded playback of a random hour, the VOD
playlist that answer points to (through the origin), and an event clip; the baseline is
`/healthz` on the same server in the same run.

    .venv/bin/python bench/recordings_http_bench.py [--cameras 1000] [--seconds 10]

Printed: requests a second, p50 and p95 per route, and p95 as a ratio to the baseline's.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api_load_bench import ADMIN_KEY, serve, stop, wait_for
from recordings_bench import drop_database, fill, new_database

from video_service.shared.recording_index import HOUR_S
from workers.base.ports import free_port
from workers.base.redis_server import stop_embedded_redis

CLIENTS = 16
WITH_API = 20  # cameras made through the API (the routes need them); the rest index only


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


Call = Callable[[httpx.AsyncClient], Awaitable[int]]


async def hammer(
    name: str, seconds: float, call: Call, base: str, headers: dict[str, str]
) -> tuple[str, int, list[float], int]:
    took: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=limits
    ) as client:

        async def one() -> None:
            nonlocal failed
            while time.monotonic() < deadline:
                began = time.perf_counter()
                status = await call(client)
                took.append((time.perf_counter() - began) * 1000)
                failed += status != 200

        await asyncio.gather(*(one() for _ in range(CLIENTS)))
    return name, len(took), took, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    hours = args.days * 24
    first_hour = int(time.time() // HOUR_S) - hours
    start_s, span_s = first_hour * HOUR_S, hours * HOUR_S
    name = f"sparc_bench_rech_{uuid.uuid4().hex[:8]}"
    url = new_database(name)
    work = Path(tempfile.mkdtemp(prefix="sparc-rec-http-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = url.replace("postgresql://", "postgresql+psycopg://", 1)
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": ADMIN_KEY,
           "SPARC_PUBLIC_URL": base, "SPARC_DATABASE_URL": database}  # fmt: skip
    server = serve(env, port, 2, work, "recordings")
    try:
        wait_for(f"{base}/healthz")
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        site = admin.post("/api/sites", json={"name": "bench"}).json()["id"]
        api_cameras = [admin.post("/api/cameras", json={"site_id": site, "name": f"c{n}"})
                       .json()["id"] for n in range(WITH_API)]  # fmt: skip
        key = admin.post("/api/keys", json={"name": "v", "scope": "viewer",
                                            "site_ids": [site]}).json()["key"]  # fmt: skip
        others = [uuid.uuid4().hex for _ in range(args.cameras - WITH_API)]
        filled = fill(url, api_cameras + others, first_hour, hours)
        events = {"events": [{"camera_id": c, "type": "motion.start",
                              "at": iso(start_s + span_s * (0.2 + 0.7 * n / WITH_API)),
                              "detail": {}} for n, c in enumerate(api_cameras)]}  # fmt: skip
        assert admin.post("/api/events", json=events).status_code == 201
        listed = admin.get("/api/events", params={"type": "motion.start", "limit": 50}).json()
        event_ids = [e["id"] for e in listed["data"]]
        print(f"{args.cameras} cameras x {args.days} days indexed in {filled:.0f} s; "
              f"{CLIENTS} clients, {args.seconds:g} s a route", flush=True)  # fmt: skip
        pick = random.Random(3)

        def an_hour() -> dict[str, str]:
            at = start_s + pick.random() * (span_s - 3600)
            return {"start": iso(at), "end": iso(at + 3600)}

        async def healthz(c: httpx.AsyncClient) -> int:
            return (await c.get("/healthz")).status_code

        async def spans(c: httpx.AsyncClient) -> int:
            return (await c.get(f"/api/cameras/{pick.choice(api_cameras)}/recordings")).status_code

        async def playback(c: httpx.AsyncClient) -> int:
            camera = pick.choice(api_cameras)
            return (await c.get(f"/api/cameras/{camera}/playback", params=an_hour())).status_code

        urls = [admin.get(f"/api/cameras/{pick.choice(api_cameras)}/playback",
                          params=an_hour()).json()["url"] for _ in range(200)]  # fmt: skip

        async def vod(c: httpx.AsyncClient) -> int:
            return (await c.get(pick.choice(urls))).status_code

        async def clip(c: httpx.AsyncClient) -> int:
            return (await c.get(f"/api/events/{pick.choice(event_ids)}/clip")).status_code

        headers = {"Authorization": f"Bearer {key}"}
        routes = [
            ("GET /healthz (baseline)", healthz),
            ("GET .../recordings (24 h)", spans),
            ("GET .../playback?start&end (1 h)", playback),
            ("GET the VOD playlist (origin, 1 h)", vod),
            ("GET /api/events/{id}/clip", clip),
        ]
        results = [asyncio.run(hammer(label, args.seconds, call, base, headers))
                   for label, call in routes]  # fmt: skip
        baseline = statistics.quantiles(results[0][2], n=20)[-1]
        columns = ("req/s", "p50 ms", "p95 ms", "p95 ratio", "errors")
        print(f"\n{'route':<38} " + " ".join(f"{c:>9}" for c in columns))
        for label, count, took, failed in results:
            p95 = statistics.quantiles(took, n=20)[-1]
            print(f"{label:<38} {count / args.seconds:9.0f} {statistics.median(took):9.1f} "
                  f"{p95:9.1f} {p95 / baseline:9.2f} {failed:9d}")  # fmt: skip
    finally:
        stop(server)
        stop_embedded_redis(work / "redis")
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
