"""The console's session cookie, turned into a caller before anything else looks: a request
with no `Authorization` header and a live session's cookie goes on with
`Authorization: User <id>.<mac>` (`auth.user_authorization`), so that every route, the hot
paths and the caches know a signed-in user as they know a key.

A request so authenticated that changes something (any method but GET, HEAD, OPTIONS) must
come from the console's own origin (`Origin` equal to `SPARC_PUBLIC_URL`'s): the cookie is
`SameSite=Strict` too, and the check holds where a browser does not honour that."""

from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from video_service.api.auth import user_authorization
from video_service.api.errors import Forbidden, ServiceUnavailable, error_response
from video_service.api.web_sessions import COOKIE, WebSessions, token_hash

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


MAX_COOKIE_HEADER = 8192
_PREFIX = COOKIE.encode() + b"="


def session_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie's value in a request's headers, if any. Read by hand, not by
    `http.cookies` (whose unquoting takes time growing with the square of a value's
    backslashes, and which drops every cookie when one of another site's is not to its
    liking): the token is URL-safe base64 and never quoted."""
    for name, value in headers:
        if name != b"cookie" or len(value) > MAX_COOKIE_HEADER:
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(_PREFIX):
                token = part[len(_PREFIX) :]
                if 0 < len(token) <= 128 and all(c in _TOKEN_BYTES for c in token):
                    return token.decode()
    return None


_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


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
        authorization = user_authorization(found.user_id, found.epoch, token_hash(token))
        signed_in = (b"authorization", authorization.encode())
        await self._app({**scope, "headers": [*headers, signed_in]}, receive, _private(send))

    def _same_origin(self, headers: list[tuple[bytes, bytes]]) -> bool:
        origin = next((value for name, value in headers if name == b"origin"), None)
        return origin is not None and origin.decode("latin-1").lower() == self._origin


def _private(send: Send) -> Send:
    """A signed-in user's answers are theirs: no shared cache keeps one (`Vary: Cookie`,
    and `no-store` where the route said nothing of caching)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"cache-control" for name, _ in headers):
                headers.append((b"cache-control", b"private, no-store"))
            headers.append((b"vary", b"Cookie"))
            message = {**message, "headers": headers}
        await send(message)

    return sending
