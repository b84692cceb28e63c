"""Build the FastAPI app: the control plane's routes, its error mapping, its database, and
the paths players hit most, served ahead of FastAPI's routing."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from video_service.api.db import create_database, session_scope
from video_service.api.errors import (
    MAPPED,
    MethodNotAllowed,
    error_response,
    install_error_handlers,
)
from video_service.api.events import EventBuffer
from video_service.api.keys import ensure_key
from video_service.api.live import LiveServices
from video_service.api.lookups import Lookups
from video_service.api.routes import cameras, events, keys, playback, player, sites, viewers
from video_service.api.settings import ApiSettings
from video_service.delivery.origin import Origin
from video_service.delivery.playback import Delivery

LiveBuilder = Callable[["sessionmaker[Session]"], LiveServices]

_PLAYBACK = re.compile(r"^/api/cameras/(?P<camera_id>[^/]+)/playback$")
_MEDIA = "/media"


class HotPaths:
    """What players ask for most goes straight to its handler, past FastAPI's routing,
    exception and dependency machinery: the origin (`/media/...`, every playlist poll and
    segment) and the playback request (every player's start; its FastAPI declaration in
    playback.py documents it and answers the same). Everything else goes on to the API."""

    def __init__(self, app: ASGIApp, origin: Origin) -> None:
        self.app = app
        self.origin = origin

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
    without it they answer 503."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        delivery: Delivery = app.state.delivery
        probing = asyncio.create_task(delivery.watch_health()) if delivery.probed else None
        yield
        app.state.events.close()
        if probing is not None:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing

    app = FastAPI(
        lifespan=lifespan,
        title="SPARC Video",
        summary="Cameras, sites, keys and events of the SPARC Video pipeline",
        version="0.1.0",
    )
    sessions = create_database(settings.database_url)
    if settings.admin_key is not None:
        # Several server workers start at once; the first to install the key wins.
        with contextlib.suppress(IntegrityError), session_scope(sessions) as session:
            ensure_key(session, settings.admin_key.get_secret_value(), "SPARC_ADMIN_KEY")
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.live = live(sessions) if live is not None else None
    app.state.lookups = Lookups(sessions)
    app.state.events = EventBuffer(sessions)
    install_error_handlers(app)
    app.state.delivery = Delivery(settings)
    app.add_middleware(HotPaths, origin=Origin(app.state.delivery))
    for module in (sites, cameras, events, keys, viewers, playback, player):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
