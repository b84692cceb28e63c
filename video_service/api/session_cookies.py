"""The console's session cookie, turned into a caller before anything else looks: a request
with no `Authorization` header and a live session's cookie goes on with
`Authorization: User <id>.<mac>` (`auth.user_authorization`), so that every route, the hot
paths and the caches know a signed-in user as they know a key.

A request so authenticated that changes something (any method but GET, HEAD, OPTIONS) must
come from the console's own origin (`Origin` equal to `SPARC_PUBLIC_URL`'s): the cookie is
`SameSite=Strict` too, and the check holds where a browser does not honour that."""

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

import redis
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from video_service.api.auth import user_authorization
from video_service.api.errors import Forbidden, ServiceUnavailable, error_response
from video_service.api.web_sessions import COOKIE, WebSessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def session_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie's value in a request's headers, if any."""
    for name, value in headers:
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                continue
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


class SessionCookies:
    def __init__(
        self, app: ASGIApp, sessions: Callable[[], WebSessions | None], public_url: str
    ) -> None:
        self._app = app
        self._sessions = sessions
        self._origin = origin_of(public_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        token = session_token(headers)
        sessions = self._sessions()
        if token is None or sessions is None or any(n == b"authorization" for n, _ in headers):
            await self._app(scope, receive, send)
            return
        try:
            found = await run_in_threadpool(sessions.find, token)
        except redis.RedisError:
            away = ServiceUnavailable("sign-in sessions are unavailable (Redis): try again")
            await error_response(away)(scope, receive, send)
            return
        if found is None:
            await self._app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS and not self._same_origin(headers):
            refused = Forbidden("a signed-in change must come from the console's own origin")
            await error_response(refused)(scope, receive, send)
            return
        signed_in = (b"authorization", user_authorization(found.user_id).encode())
        await self._app({**scope, "headers": [*headers, signed_in]}, receive, send)

    def _same_origin(self, headers: list[tuple[bytes, bytes]]) -> bool:
        origin = next((value for name, value in headers if name == b"origin"), None)
        return origin is not None and origin.decode("latin-1").lower() == self._origin
