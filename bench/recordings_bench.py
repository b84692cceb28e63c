"""The recording index at the platform's size: seven days of 1,000 cameras (6 s segments:
100,800 segments a camera, 100.8 million in all, kept as 168,000 packed hour rows) in
PostgreSQL, and the time to find a range of one camera in it (`DatabaseRecordings.find`,
the code the API runs, then the spans).

    .venv/bin/python bench/recordings_bench.py [--cameras 1000] [--days 7] [--queries 300]

Printed: p50 and p95 of finding 10 minutes, 1 hour and 24 hours of a random camera at a
random time, and the same queries against a database holding that one camera alone (the
baseline, measured in the same run): a ratio near 1 says the cost follows the range, not
the history around it. The target is p95 under 50 ms.
"""

import argparse
import gc
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import psycopg
from api_load_bench import POSTGRES

from video_service.api.db import create_database
from video_service.api.recording_store import DatabaseRecordings
from video_service.shared.recording_index import HOUR_S, Recorded, pack, spans_of

SEGMENT_S = 6.0
RANGES = {"10 min": 600.0, "1 h": 3600.0, "24 h": 86400.0}


def hour_blob(hour: int, index: int) -> bytes:
    per_hour = int(HOUR_S / SEGMENT_S)
    start = hour * HOUR_S
    return pack(hour, (
        Recorded(start + i * SEGMENT_S, SEGMENT_S - 0.001 * (i % 7), 700_000 + 977 * (i % 13),
                 index * per_hour + i)
        for i in range(per_hour)
    ))  # fmt: skip


def new_database(name: str) -> str:
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(url: str, cameras: list[str], first_hour: int, hours: int) -> float:
    blobs = [hour_blob(first_hour + h, h) for h in range(hours)]
    started = time.perf_counter()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY recording_hours (camera_id, hour, entries) FROM STDIN") as copy:
            for camera in cameras:
                for h, blob in enumerate(blobs):
                    copy.write_row((camera, first_hour + h, blob))
        connection.commit()
        connection.execute("ANALYZE recording_hours")
    return time.perf_counter() - started


def table_size(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_total_relation_size('recording_hours')").fetchone()
        return int(row[0]) if row else 0


Find = Callable[[str, float, float], list[Recorded]]


def timed(
    find: Find, cameras: list[str], start_s: float, span_s: float, length: float, queries: int
) -> list[float]:
    pick = random.Random(7)
    took = []
    for _ in range(queries):
        camera = pick.choice(cameras)
        at = start_s + pick.random() * (span_s - length)
        began = time.perf_counter()
        found = find(camera, at, at + length)
        spans_of(found)
        took.append((time.perf_counter() - began) * 1000)
        assert found, "a range inside the recording found nothing"
    return took


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    hours = args.days * 24
    first_hour = int(time.time() // HOUR_S) - hours
    start_s, span_s = first_hour * HOUR_S, hours * HOUR_S
    cameras = [uuid.uuid4().hex for _ in range(args.cameras)]
    names = {"full": f"sparc_bench_rec_{uuid.uuid4().hex[:8]}",
             "alone": f"sparc_bench_rec1_{uuid.uuid4().hex[:8]}"}  # fmt: skip
    try:
        results: dict[str, dict[str, list[float]]] = {}
        for kind, name in names.items():
            url = new_database(name)
            sessions = create_database(url.replace("postgresql://", "postgresql+psycopg://", 1))
            present = cameras if kind == "full" else cameras[:1]
            filled = fill(url, present, first_hour, hours)
            size = table_size(url)
            segments = len(present) * hours * int(HOUR_S / SEGMENT_S)
            print(f"{kind}: {len(present)} cameras, {segments:,} segments in "
                  f"{len(present) * hours:,} rows, {size / 2**20:,.0f} MiB, filled in "
                  f"{filled:.0f} s", flush=True)  # fmt: skip
            index = DatabaseRecordings(sessions)
            gc.collect()
            gc.freeze()  # as the API's server processes do once started (video_service.api.asgi)
            queried = cameras[:1] if kind == "alone" else cameras
            results[kind] = {
                label: timed(index.find, queried, start_s, span_s, length, args.queries)
                for label, length in RANGES.items()
            }
            sessions.kw["bind"].dispose()
        print(f"\n{'range':>8} {'p50 ms':>8} {'p95 ms':>8} {'alone p95':>10} {'ratio':>6}")
        for label in RANGES:
            full, alone = results["full"][label], results["alone"][label]
            print(f"{label:>8} {statistics.median(full):8.2f} {p95(full):8.2f} "
                  f"{p95(alone):10.2f} {p95(full) / p95(alone):6.2f}")  # fmt: skip
    finally:
        for name in names.values():
            drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
