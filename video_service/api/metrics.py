"""The API's metrics: every request timed by route template (never the raw path: ids would
make a series each), the database pool, and what is read at scrape time, once however many
server processes there are: queue depth by priority band, the oldest waiting job's age,
open viewer sessions. `GET /metrics`, in Prometheus's text format."""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import redis
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from video_service.api.paths import MEDIA_PREFIX, MEDIA_TEMPLATE, PLAYBACK
from video_service.api.response_cache import TAGS
from video_service.shared.viewer_sessions import count_all_sessions
from workers.base.metrics import Read, Reading
from workers.queue.celery_app import SparcCelery
from workers.queue.queues import read_queues

UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


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


@cache
def api_metrics() -> ApiMetrics:
    return ApiMetrics(
        Counter("sparc_events_ingested", "Events stored (the pipeline's and from outside)."),
        Gauge("sparc_db_pool_connections_in_use", "Database connections checked out.",
              multiprocess_mode="livesum"),
        Gauge("sparc_db_pool_connections_max", "Database connections the pools may open.",
              multiprocess_mode="livesum"),
    )  # fmt: skip


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def route_of(scope: Scope) -> str:
    path: str = scope["path"]
    if path.startswith(MEDIA_PREFIX):
        return MEDIA_TEMPLATE
    if PLAYBACK.match(path) is not None:
        return PLAYBACK.template
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    # Served ahead of FastAPI's routing (`hot_paths`): no route in the scope to read.
    return path if path in TAGS else UNMATCHED


class RequestMetrics:
    """Outermost middleware: the time to the last byte, by route, method and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = http_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            labels = (route_of(scope), scope["method"], status_class(status))
            self.metrics.duration.labels(*labels).observe(time.perf_counter() - started)
            self.metrics.requests.labels(*labels).inc()


def watch_pool(engine: Engine) -> None:
    """The pool's size and its connections in use, as gauges (summed over processes)."""
    metrics = api_metrics()
    pool = engine.pool
    size = getattr(pool, "size", lambda: 0)() + max(0, getattr(pool, "_max_overflow", 0))
    metrics.db_pool_size.inc(size)
    event.listen(engine, "checkout", lambda *_: metrics.db_pool_in_use.inc())
    event.listen(engine, "checkin", lambda *_: metrics.db_pool_in_use.dec())


def scraped(app: SparcCelery, client: redis.Redis) -> Read:
    """What the broker and Redis say now; a fault of either leaves those gauges out of this
    scrape (absent, which the alerts treat as no data)."""

    def read() -> Iterable[Reading]:
        now = time.time()
        try:
            queues = read_queues(app)
        except Exception:  # the broker away (any of kombu's errors): no queue figures
            queues = []
        if queues:
            yield (
                "sparc_queue_depth",
                "Jobs waiting, by queue and priority band (urgency "
                "0-9; 'all' where the broker has no bands).",
                ("queue", "band"),
                {(q.pool.queue, band): n for q in queues for band, n in q.depth.items()},
            )
            yield (
                "sparc_queue_oldest_job_age_seconds",
                "How long the oldest waiting job has waited (0 with none; Redis broker only).",
                ("queue",),
                {(q.pool.queue,): q.oldest_age(now) or 0.0 for q in queues},
            )
        try:
            sessions = count_all_sessions(client, now=now)
        except redis.RedisError:
            return
        yield "sparc_viewer_sessions_open", "Viewer sessions not expired.", (), {(): sessions}

    return Read(read)
