"""Build the FastAPI app: the control plane's routes, its error mapping, its database, and
the paths players hit most, served ahead of FastAPI's routing."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from video_service.api.compression import Compression
from video_service.api.db import create_database, engine_of
from video_service.api.errors import (
    ERRORS,
    MAPPED,
    MethodNotAllowed,
    error_response,
    install_error_handlers,
)
from video_service.api.limits import BodyLimit
from video_service.api.live import LiveServices
from video_service.api.maintenance import maintain_forever
from video_service.api.metrics import RequestMetrics, scraped, watch_pool
from video_service.api.response_cache import (
    CachedRoutes,
    PrincipalOf,
    ResponseCache,
)
from video_service.api.routes import (
    cameras,
    events,
    keys,
    ops,
    playback,
    player,
    recordings,
    sites,
    viewers,
)
from video_service.api.settings import ApiSettings
from video_service.api.state import build_api_state
from video_service.delivery.origin import Origin
from workers.base.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from workers.base.metrics import exposition

LiveBuilder = Callable[["sessionmaker[Session]"], LiveServices]

_PLAYBACK = re.compile(r"^/api/cameras/(?P<camera_id>[^/]+)/playback$")
_MEDIA = "/media"
# Connections for background work beside the route threads: the event batcher, the event
# stream's reader, the upkeep task.
BACKGROUND_CONNECTIONS = 3
CACHE_CONNECTIONS = 32  # to Redis, per server process


class HotPaths:
    """What players and dashboards ask for most goes straight to its handler, past
    FastAPI's routing, exception and dependency machinery: the origin (`/media/...`, every
    playlist poll and segment), the playback request (every player's start; its FastAPI
    declaration in playback.py documents it and answers the same), and the cached lists
    (`response_cache`). Everything else goes on to the API."""

    def __init__(
        self,
        app: ASGIApp,
        origin: Origin,
        cache: ResponseCache | None,
        principal_of: PrincipalOf,
    ) -> None:
        self.app = app
        self.origin = origin
        self.cached = CachedRoutes(cache, app, principal_of) if cache is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_MEDIA + "/"):
                response = await self._media(scope, path[len(_MEDIA) :])
                await response(scope, receive, send)
                return
            match = _PLAYBACK.match(path)
            if match is not None and scope["method"] == "GET":
                scope["path_params"] = {"camera_id": match["camera_id"]}
                response = await playback.fast_playback(Request(scope, receive))
                await response(scope, receive, send)
                return
            if self.cached is not None and await self.cached.serve(scope, receive, send):
                return
        await self.app(scope, receive, send)

    async def _media(self, scope: Scope, path: str) -> Response:
        try:
            if scope["method"] not in ("GET", "HEAD"):
                raise MethodNotAllowed("the origin serves GET and HEAD")
            return await self.origin.respond(path, scope["query_string"])
        except MAPPED as error:
            return error_response(error)


def create_app(settings: ApiSettings, live: LiveBuilder | None = None) -> FastAPI:
    """`live` builds the live services (Redis, the Celery app) that viewer sessions need;
    without it they answer 503. The database is as `prepare_database` left it."""
    sessions = create_database(
        settings.database_url, pool_size=settings.api_threads + BACKGROUND_CONNECTIONS
    )
    state = build_api_state(settings, sessions, live(sessions) if live is not None else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each route thread holds at most one connection, and the pool has one for each.
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        upkeep = maintain_forever(engine_of(sessions), settings.event_retention_days)
        tasks = [asyncio.create_task(upkeep)]
        if state.delivery.probed:
            shared = state.live.redis if state.live is not None else None
            tasks.append(asyncio.create_task(state.delivery.watch_health(shared)))
        yield
        state.events.close()
        await state.event_stream.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if state.cache is not None:
            await state.cache.close()

    app = FastAPI(
        lifespan=lifespan,
        title="SPARC Video",
        summary="Cameras, sites, keys and events of the SPARC Video pipeline",
        version="0.1.0",
    )
    app.state.api = state
    install_error_handlers(app)
    app.add_middleware(Compression)
    app.add_middleware(HotPaths, origin=Origin(state.delivery), cache=state.cache,
                       principal_of=state.lookups.principal_or_none)  # fmt: skip
    app.add_middleware(BodyLimit)  # before anything reads a body
    app.add_middleware(RequestMetrics)  # outermost: every request timed
    watch_pool(engine_of(sessions))
    for module in (sites, cameras, events, keys, viewers, playback, recordings, ops, player):
        app.include_router(module.router, responses=ERRORS)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics() -> Response:
        """Prometheus's text format: every server process's metrics, and the queues and
        viewer sessions as they are now. Unauthenticated, as scrapers expect: keep it to
        the cluster (k8s/ NetworkPolicy)."""
        live = state.live
        extra = [scraped(live.scheduler.app, live.redis)] if live is not None else []
        return Response(exposition(extra), media_type=METRICS_CONTENT_TYPE)

    return app
