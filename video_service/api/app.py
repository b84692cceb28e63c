"""Build the FastAPI app: its state (`state`), its routes, its error mapping, and its
middleware, the paths players hit most (`hot_paths`) among them."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import PlainTextResponse, Response

from video_service.api.compression import Compression
from video_service.api.db import create_database, engine_of
from video_service.api.errors import (
    ERRORS,
    install_error_handlers,
)
from video_service.api.hot_paths import HotPaths
from video_service.api.limits import BodyLimit
from video_service.api.live import LiveServices
from video_service.api.maintenance import maintain_forever
from video_service.api.metrics import RequestMetrics, scraped, watch_pool
from video_service.api.routes import (
    cameras,
    console,
    events,
    keys,
    ops,
    playback,
    player,
    recordings,
    session,
    sites,
    users,
    viewers,
)
from video_service.api.session_cookies import SessionCookies
from video_service.api.settings import ApiSettings
from video_service.api.state import build_api_state
from video_service.delivery.origin import Origin
from workers.base.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from workers.base.metrics import exposition

LiveBuilder = Callable[["sessionmaker[Session]"], LiveServices]

# Connections for background work beside the route threads: the event batcher, the event
# stream's reader, the upkeep task.
BACKGROUND_CONNECTIONS = 3


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

    docs = settings.api_docs
    app = FastAPI(
        lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        title="SPARC Video",
        summary="Cameras, sites, keys and events of the SPARC Video pipeline",
        version="0.1.0",
    )
    app.state.api = state
    install_error_handlers(app)
    app.add_middleware(Compression)
    app.add_middleware(HotPaths, origin=Origin(state.delivery), cache=state.cache,
                       principal_of=state.lookups.principal_or_none)  # fmt: skip
    app.add_middleware(SessionCookies, sessions=lambda: state.web_sessions,
                       public_url=settings.public_url)  # fmt: skip
    app.add_middleware(BodyLimit)  # before anything reads a body
    app.add_middleware(RequestMetrics)  # outermost: every request timed
    watch_pool(engine_of(sessions))
    routers = (sites, cameras, events, keys, users, session, viewers, playback, recordings, ops,
               player, console)  # fmt: skip
    for module in routers:
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
