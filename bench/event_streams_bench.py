"""Idle event streams against a busy API: what 1,000 open server-sent-event streams of one
site cost the API while another site posts 5,000 events a second.

    .venv/bin/python bench/event_streams_bench.py [--streams 1000] [--rate 5000] [--seconds 20]

One `sparc-video serve` process on PostgreSQL. Three phases, each `--seconds` long, in the
same run: (1) quiet; (2) events posted for site B at `--rate`; (3) the same, with `--streams`
streams of site A open (a viewer key of site A; they receive nothing). In each, a client asks
GET /healthz 20 times a second: printed, its p50 and p95, and the batches' p95 (POST
/api/events, 500 events each), with phase 3's ratio to phase 2's. Target: /healthz p95 under
20 ms in phase 3.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from harness import CLI, Processes, answers, wait_until

from workers.base.ports import free_port

POSTGRES = os.environ.get("SPARC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
ADMIN_KEY = "sv_bench-admin-key-0123456789"
BATCH = 500


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def probe(base: str, seconds: float) -> list[float]:
    """GET /healthz 20 times a second; each answer's time, in ms."""
    took = []
    with httpx.Client(base_url=base, timeout=10) as client:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            started = time.monotonic()
            client.get("/healthz")
            took.append((time.monotonic() - started) * 1000)
            time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))
    return took


def post_events(base: str, camera: str, rate: int, stop: threading.Event) -> list[float]:
    """Batches of `BATCH` events for `camera` at `rate` events a second; each batch's ms."""
    took = []
    every = BATCH / rate
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:  # fmt: skip
        while not stop.is_set():
            started = time.monotonic()
            at = datetime.now(UTC).isoformat()
            events = [{"camera_id": camera, "type": "bench.tick", "at": at, "detail": {"n": n}}
                      for n in range(BATCH)]  # fmt: skip
            client.post("/api/events", json={"events": events})
            took.append((time.monotonic() - started) * 1000)
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    return took


async def hold_streams(port: int, key: str, count: int, opened: threading.Event,
                       stop: threading.Event) -> int:  # fmt: skip
    """Open `count` streams and keep them, reading what comes; how many opened."""
    request = (f"GET /api/events/stream HTTP/1.1\r\nHost: api\r\n"
               f"Authorization: Bearer {key}\r\n\r\n").encode()  # fmt: skip
    writers = []
    readers = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        writers.append(writer)
        readers.append(asyncio.create_task(_drain(reader)))
    ok = 0
    for reader in readers:  # each said 200 before it went on
        ok += int(await asyncio.wait_for(reader, 30))
    opened.set()
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for writer in writers:
        writer.close()
    return ok


async def _drain(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    asyncio.get_running_loop().create_task(_read_on(reader))
    return head.startswith(b"HTTP/1.1 200")


async def _read_on(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-streams-bench-"))
    database = f"sparc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        with Processes(work) as processes:
            run(args, work, processes, database)
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')


def run(args: argparse.Namespace, work: Path, processes: Processes, database: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": ADMIN_KEY,
           "SPARC_DATABASE_URL": f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://')}"
                                 f"/{database}",
           "SPARC_EVENT_STREAMS_PER_KEY": str(args.streams),
           "SPARC_EVENT_STREAMS_MAX": str(args.streams + 10)}  # fmt: skip
    processes.start("api", [*CLI, "serve", "--port", str(port), "--workers", "1"], env=env)
    wait_until(lambda: answers(f"{base}/healthz"), 30, "the API")
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    quiet_site, busy_site = (admin.post("/api/sites", json={"name": n}).json()["id"]
                             for n in ("A", "B"))  # fmt: skip
    busy = admin.post("/api/cameras", json={"site_id": busy_site, "name": "busy"}).json()["id"]
    key = admin.post("/api/keys", json={"name": "wall", "scope": "viewer",
                                        "site_ids": [quiet_site]}).json()["key"]  # fmt: skip
    admin.close()
    rows = {"quiet": (probe(base, args.seconds), [])}
    rows[f"{args.rate} events/s"] = _with_events(base, busy, args)
    opened, stop = threading.Event(), threading.Event()
    held: list[int] = []
    streams = threading.Thread(target=lambda: held.append(asyncio.run(
        hold_streams(port, key, args.streams, opened, stop))), daemon=True)  # fmt: skip
    streams.start()
    assert opened.wait(120), "the streams did not open"
    name = f"{args.rate} events/s, {args.streams} streams"
    rows[name] = _with_events(base, busy, args)
    stop.set()
    streams.join(30)
    print(f"one API process on PostgreSQL; {held[0] if held else 0} streams of site A held open")
    for label, (health, batches) in rows.items():
        batch = f"  batch p95 {p(batches, 0.95):7.1f} ms" if batches else ""
        print(f"{label:>36}: /healthz p50 {statistics.median(health):6.1f} ms  "
              f"p95 {p(health, 0.95):6.1f} ms{batch}")  # fmt: skip
    loaded = rows[name][0]
    print(f"target: /healthz p95 < 20 ms with the streams open -> {p(loaded, 0.95):.1f} ms")


def _with_events(
    base: str, camera: str, args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    stop = threading.Event()
    batches: list[float] = []
    poster = threading.Thread(target=lambda: batches.extend(
        post_events(base, camera, args.rate, stop)), daemon=True)  # fmt: skip
    poster.start()
    time.sleep(2)  # the rate established
    health = probe(base, args.seconds)
    stop.set()
    poster.join(30)
    return health, batches


if __name__ == "__main__":
    main()
