"""Prometheus metrics: every name our processes export, here and nowhere else.

Conventional names and units (`_seconds`, `_bytes`, `_total`), and no per-camera labels:
100,000 cameras would be 100,000 series. Metrics are made on first use, so that a process
whose children record them (the API's server processes, a Celery worker's prefork children)
can switch prometheus_client to its multiprocess mode first (`enable_multiprocess`); its
gauges then use the live modes (a dead process's values leave the sum).

What a process exports:
  the API          http_*, events ingested, database pool, CDN ejections and probe failures,
                   and (read at scrape time) queue depth, oldest job age, open viewer sessions
  the edge         cameras online, ingest bytes, recorder restarts, publish lag, ladder job
                   outcomes as reported to it, free space on the recording disk, spool depth
                   and age
  a worker         ladder job duration and outcomes, spool depth and age
"""

import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 18.0, 30.0, 60.0, 120.0)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 18.0, 30.0)


def enable_multiprocess(directory: Path) -> None:
    """Before any metric is made: metrics of this process and of its children (which inherit
    the environment) go to files in `directory`, emptied first (what an earlier run left
    would otherwise add to the counts)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def mark_process_dead(pid: int) -> None:
    """A child that exited: its live gauges leave the sums."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text format of this process's metrics (all processes' in multiprocess mode), and
    of `extra` collectors (read at scrape time, once however many processes there are)."""
    scraped = CollectorRegistry(auto_describe=False)
    for collector in extra:
        scraped.register(collector)
    return generate_latest(_own_registry()) + generate_latest(scraped)


def serve_metrics(port: int, host: str = "0.0.0.0", extra: Sequence[Collector] = ()) -> bool:
    """A process without an HTTP server of its own (the edge, a worker): /metrics on `port`
    in a thread. A port taken (two workers on one machine) is logged, not fatal: False."""
    if port == 0:
        return False
    registry = _own_registry()
    for collector in extra:
        registry.register(collector)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        log.warning("no /metrics on port %d: %s", port, error)
        return False
    log.info("metrics on http://%s:%d/metrics", host, port)
    return True


Reading = tuple[str, str, Sequence[str], dict[tuple[str, ...], float]]


def _own_registry() -> CollectorRegistry:
    """This process's metrics: the default registry, or every process's files."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class Read(Collector):
    """Gauges read when scraped: `read` yields (name, help, label names, {labels: value})."""

    def __init__(self, read: Callable[[], Iterable[Reading]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        for name, help_text, labels, found in self._read():
            family = GaugeMetricFamily(name, help_text, labels=list(labels))
            for values_, value in found.items():
                family.add_metric(list(values_), value)
            yield family


def status_class(status: int) -> str:
    return f"{status // 100}xx"


@dataclass(frozen=True)
class HttpMetrics:
    duration: Histogram
    requests: Counter


@cache
def http_metrics() -> HttpMetrics:
    labels = ("route", "method", "status")
    return HttpMetrics(
        Histogram("http_request_duration_seconds", "Time to answer an HTTP request "
                  "(route template, method, status class).", labels, buckets=LATENCY_BUCKETS),
        Counter("http_requests", "HTTP requests answered.", labels),
    )  # fmt: skip


@dataclass(frozen=True)
class ApiMetrics:
    events_ingested: Counter
    db_pool_in_use: Gauge
    db_pool_size: Gauge
    cdn_ejections: Counter
    cdn_probe_failures: Counter


@cache
def api_metrics() -> ApiMetrics:
    return ApiMetrics(
        Counter("sparc_events_ingested", "Events stored (the pipeline's and from outside)."),
        Gauge("sparc_db_pool_connections_in_use", "Database connections checked out.",
              multiprocess_mode="livesum"),
        Gauge("sparc_db_pool_connections_max", "Database connections the pools may open.",
              multiprocess_mode="livesum"),
        Counter("sparc_cdn_ejections", "CDN providers ejected from selection.", ["provider"]),
        Counter("sparc_cdn_probe_failures", "Failed CDN health probes.", ["provider"]),
    )  # fmt: skip


@dataclass(frozen=True)
class LadderMetrics:
    job_duration: Histogram
    jobs: Counter


@cache
def ladder_metrics() -> LadderMetrics:
    """A worker's: one observation per job it ran."""
    return LadderMetrics(
        Histogram("sparc_ladder_job_duration_seconds", "Time a worker spent on a ladder job.",
                  ["pool", "kind"], buckets=JOB_BUCKETS),
        Counter("sparc_ladder_jobs", "Ladder jobs by outcome (done, failed, retried, skipped).",
                ["pool", "kind", "outcome"]),
    )  # fmt: skip


@dataclass(frozen=True)
class EdgeMetrics:
    cameras_online: Gauge
    ingest_bytes: Counter
    recorder_restarts: Counter
    publish_lag: Histogram
    ladder_outcomes: Counter
    disk_free_bytes: Gauge
    webrtc_viewers: Gauge
    webrtc_refusals: Counter


@cache
def edge_metrics() -> EdgeMetrics:
    return EdgeMetrics(
        Gauge("sparc_edge_cameras_online", "Cameras this edge is recording now.",
              multiprocess_mode="livesum"),
        Counter("sparc_edge_ingest_bytes", "Bytes received from cameras."),
        Counter("sparc_recorder_restarts", "Recorders started again for a camera already "
                "recorded by this edge (a reconnect, a pull camera retried)."),
        Histogram("sparc_publish_lag_seconds", "From a source segment closed to its rendition "
                  "listed in a playlist.", ["rendition"], buckets=LAG_BUCKETS),
        Counter("sparc_ladder_outcomes", "Live ladder jobs reported to this edge's scheduler.",
                ["outcome"]),
        Gauge("sparc_edge_disk_free_bytes", "Free space on the recording disk.",
              multiprocess_mode="liveall"),
        Gauge("sparc_edge_webrtc_viewers", "Live viewers over WebRTC (WHEP) on this edge now.",
              multiprocess_mode="livesum"),
        Counter("sparc_edge_webrtc_refusals", "WHEP offers refused, by HTTP status.",
                ["status"]),
    )  # fmt: skip


def spool_collector(backlog: Callable[[], tuple[int, float | None]],
                    clock: Callable[[], float]) -> Collector:  # fmt: skip
    """Spool depth and the age of its oldest item, read when scraped."""

    def read() -> Iterable[Reading]:
        depth, oldest = backlog()
        age = max(0.0, clock() - oldest) if oldest is not None else 0.0
        yield "sparc_spool_items", "Uploads and deletes waiting for storage.", (), {(): depth}
        yield "sparc_spool_oldest_age_seconds", "Age of the oldest item waiting.", (), {(): age}

    return Read(read)
