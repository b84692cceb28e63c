"""Bodies are bounded: a request whose body is larger than its route allows is answered 413
before the application reads it (by Content-Length), or as soon as it streams past the limit
(chunked). A 5-million-element JSON array is never parsed."""

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from video_service.api.errors import TooLarge, error_response

DEFAULT_MAX_BODY = 64 * 1024
# A batch of 1,000 events of at most 4 KB each, with room for its JSON.
ROUTE_MAX_BODY: Mapping[tuple[str, str], int] = {("POST", "/api/events"): 6 * 1024 * 1024}


class _Overflow(Exception):
    """The body went past the limit while the app read it."""


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = ROUTE_MAX_BODY.get((scope["method"], scope["path"]), self.default)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, limit)
            return
        state = {"seen": 0, "over": False, "answered": False}

        async def counting() -> Message:
            message = await receive()
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > limit:
                state["over"] = True
                raise _Overflow  # whatever the app makes of it, the answer is our 413
            return message

        async def answering(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif not state["answered"]:
                state["answered"] = True
                await _refuse(scope, receive, send, limit)

        try:
            await self.app(scope, counting, answering)
        except _Overflow:
            if not state["answered"]:
                await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    answer = error_response(TooLarge(f"the body is larger than this route takes ({limit} B)"))
    await answer(scope, receive, send)
