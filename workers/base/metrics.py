"""Prometheus metrics: the machinery every process uses to export its own.

Each room names its metrics in its own `metrics.py` (the API's, delivery's, the edge's, and
the workers' `workers.queue.metrics`), with conventional names and units (`_seconds`,
`_bytes`, `_total`) and no per-camera labels: 100,000 cameras would be 100,000 series.
Metrics are made on first use, so that a process whose children record them (the API's
server processes, a Celery worker's prefork children) can switch prometheus_client to its
multiprocess mode first (`enable_multiprocess`); its gauges then use the live modes (a dead
process's values leave the sum). The edge's upload spool is read at scrape time
(`spool_collector`).
"""

import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
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


def spool_collector(backlog: Callable[[], tuple[int, float | None]],
                    clock: Callable[[], float]) -> Collector:  # fmt: skip
    """Spool depth and the age of its oldest item, read when scraped."""

    def read() -> Iterable[Reading]:
        depth, oldest = backlog()
        age = max(0.0, clock() - oldest) if oldest is not None else 0.0
        yield "sparc_spool_items", "Uploads and deletes waiting for storage.", (), {(): depth}
        yield "sparc_spool_oldest_age_seconds", "Age of the oldest item waiting.", (), {(): age}

    return Read(read)
