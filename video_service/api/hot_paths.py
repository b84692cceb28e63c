"""The paths players and dashboards hit most, served ahead of FastAPI's routing."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from video_service.api.errors import MAPPED, MethodNotAllowed, error_response
from video_service.api.paths import MEDIA_PREFIX, PLAYBACK
from video_service.api.response_cache import CachedRoutes, PrincipalOf, ResponseCache
from video_service.api.routes import playback
from video_service.delivery.origin import Origin


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
            if path.startswith(MEDIA_PREFIX):
                response = await self._media(scope, path[len(MEDIA_PREFIX) - 1 :])
                await response(scope, receive, send)
                return
            params = PLAYBACK.match(path)
            if params is not None and scope["method"] == "GET":
                scope["path_params"] = params
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
