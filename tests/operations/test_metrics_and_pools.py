"""What operators see, from real processes after real work: `/metrics` of the API (two server
processes, summed), of an edge and of a worker; queue depth across priority bands on the
real broker; the pools view (`sparc-video pools`, `GET /api/ops/pools`) against a real
backlog, a real worker's jobs and a publishing edge."""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.stack import CLI, RedisServer, Stack
from tests.waiting import eventually
from workers.base.ports import free_port
from workers.base.settings import Settings
from workers.queue.celery_app import create_celery_app
from workers.queue.dispatch import submit_job, submit_segment
from workers.queue.jobs import JobSpec, JobState, JobStore

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> tuple[Samples, dict[str, str]]:
    """Every sample (name, labels) -> value, and every family's type."""
    text = httpx.get(url, timeout=10).text
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    made = Stack(tmp_path, RedisServer(tmp_path / "redis", aof=False))
    try:
        yield made
    finally:
        made.close()


MONITORING = Path(__file__).parent.parent.parent / "k8s" / "monitoring"
OURS = re.compile(r"\b((?:sparc|http)_[a-z_]+)")


def queried_names() -> set[str]:
    """Our metric names that the dashboard's panels and the alert rules query."""
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((MONITORING / "rules.yaml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return {name for expr in exprs for name in OURS.findall(expr)}


@pytest.mark.long
def test_metrics_and_the_pools_view_after_real_work(stack: Stack, tmp_path: Path) -> None:
    exported: set[str] = set()
    stack.api = stack._spawn(["serve", "--workers", "2", "--port", str(stack.api_port)], "api")
    eventually(stack._api_answers, 30)
    api = f"http://127.0.0.1:{stack.api_port}"
    settings = Settings(state_dir=tmp_path / "state")
    app = create_celery_app(settings, stack.redis.url)

    # A backlog on the real broker, at three urgencies, with no worker to take it.
    for score, count in ((1000, 3), (500, 2), (0, 1)):
        for n in range(count):
            submit_segment(app, stack_client(stack), "f" * 32, f"seg_{score}{n}.ts", 0.0, score)

    def oldest_age() -> float:
        samples = scrape(f"{api}/metrics")[0]
        return value(samples, "sparc_queue_oldest_job_age_seconds", queue="transcode.cpu")

    eventually(lambda: oldest_age() >= 1, 10)
    samples, types = scrape(f"{api}/metrics")
    depth = {band: value(samples, "sparc_queue_depth", queue="transcode.cpu", band=band)
             for band in ("9", "5", "0")}  # fmt: skip
    assert depth == {"9": 3, "5": 2, "0": 1}, depth
    printed = subprocess.run([*CLI, "pools", "--json"], env=stack.env, capture_output=True,
                             text=True, check=True)  # fmt: skip
    viewed = json.loads(printed.stdout)
    cpu = next(p for p in viewed["pools"] if p["pool"] == "cpu")
    assert cpu["waiting_total"] == 6 and cpu["waiting"]["9"] == 3 and cpu["live_workers"] == 0
    assert cpu["oldest_waiting_s"] >= 1 and cpu["recommended_workers"] >= 1
    table = subprocess.run([*CLI, "pools"], env=stack.env, capture_output=True, text=True)
    assert "waiting by urgency band: 0: 1, 5: 2, 9: 3" in table.stdout, table.stdout
    answer = stack.admin.get("/api/ops/pools")
    assert answer.status_code == 200 and answer.json()["pools"][0]["waiting_total"] == 6
    app.control.purge()

    # Requests, counted by route template across both server processes.
    for _ in range(10):
        assert stack.admin.get("/api/sites").status_code == 200
    camera = stack.camera()
    assert stack.admin.get(f"/api/cameras/{camera['id']}").status_code == 200
    for n in range(3):
        assert stack.admin.get(f"/nope/{n}").status_code == 404
    viewer = httpx.get(f"{api}/api/ops/pools",
                       headers={"Authorization": f"Bearer {camera['viewer_key']}"})  # fmt: skip
    assert viewer.status_code == 403
    samples, types = scrape(f"{api}/metrics")
    exported |= {name for name, _ in samples}
    assert types["http_request_duration_seconds"] == "histogram"
    assert types["http_requests"] == "counter"
    get = {"method": "GET"}
    assert value(samples, "http_requests_total", route="/api/sites", status="2xx", **get) == 10
    assert value(samples, "http_request_duration_seconds_count", route="/api/sites",
                 status="2xx", **get) == 10  # fmt: skip
    assert value(samples, "http_requests_total", route="/api/cameras/{camera_id}",
                 status="2xx", **get) == 1  # fmt: skip
    assert value(samples, "http_requests_total", route="unmatched", status="4xx", **get) == 3
    assert not any("/nope" in str(labels) for _, labels in samples)  # no raw paths as labels
    assert value(samples, "sparc_db_pool_connections_max") == 2 * 43  # two processes' pools
    assert ("sparc_viewer_sessions_open", frozenset()) in samples

    # A worker: a real job shows in its duration histogram and its outcomes.
    worker_port = free_port()
    stack.env["SPARC_METRICS_PORT"] = str(worker_port)
    stack.start_worker("ops")
    source = tmp_path / "in.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10",
                    "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", str(source)],
                   check=True)  # fmt: skip
    store = JobStore(stack_client(stack))
    job = submit_job(app, stack_client(stack), JobSpec(str(source), str(tmp_path / "out"), 10))
    eventually(lambda: store.status(job).state in (JobState.DONE, JobState.FAILED), 90)
    assert store.status(job).state is JobState.DONE, store.status(job).error
    eventually(lambda: value(scrape(f"http://127.0.0.1:{worker_port}/metrics")[0],
                             "sparc_ladder_jobs_total", pool="cpu", kind="file",
                             outcome="done") == 1, 10)  # fmt: skip
    samples, types = scrape(f"http://127.0.0.1:{worker_port}/metrics")
    exported |= {name for name, _ in samples}
    assert types["sparc_ladder_job_duration_seconds"] == "histogram"
    took = value(samples, "sparc_ladder_job_duration_seconds_sum", pool="cpu", kind="file")
    assert value(samples, "sparc_ladder_job_duration_seconds_count", pool="cpu",
                 kind="file") == 1 and took > 0  # fmt: skip

    # An edge: a publishing camera is online, its bytes counted, its segments' lag observed.
    edge_port = free_port()
    stack.env["SPARC_METRICS_PORT"] = str(edge_port)
    stack.start_edge()
    stack.publish(camera, 8)
    edge = f"http://127.0.0.1:{edge_port}/metrics"
    eventually(lambda: value(scrape(edge)[0], "sparc_edge_cameras_online") == 1, 15)
    eventually(lambda: value(scrape(edge)[0], "sparc_edge_ingest_bytes_total") > 10_000, 15)

    def pools() -> dict[str, Any]:
        found: dict[str, Any] = stack.admin.get("/api/ops/pools").json()
        return found

    eventually(lambda: any(e["cameras"] == 1 and e["ingest_mbps"] > 0
                           for e in pools()["edges"]), 15)  # fmt: skip
    cpu = next(p for p in pools()["pools"] if p["pool"] == "cpu")
    assert cpu["live_workers"] == 1 and cpu["slots"] == 1 and cpu["last_minute"]["done"] >= 1
    assert cpu["mean_job_s"] > 0
    eventually(lambda: value(scrape(edge)[0], "sparc_edge_cameras_online") == 0, 30)
    samples, _ = scrape(edge)
    exported |= {name for name, _ in samples}
    assert value(samples, "sparc_publish_lag_seconds_count", rendition="source") >= 2
    assert ("sparc_spool_oldest_age_seconds", frozenset()) in samples
    assert ("sparc_spool_items", frozenset()) in samples

    # Every metric the dashboard and the alerts query is one these processes export.
    queried = queried_names()
    assert len(queried) >= 15 and queried <= exported, sorted(queried - exported)


def stack_client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis.url)
