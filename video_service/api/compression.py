"""Response compression: brotli where the client prefers it, else gzip, for JSON answers of
1 KB or more. An ASGI middleware for the API's own routes; the response cache stores each
variant once, compressed at the miss (see `response_cache`)."""

import gzip
from collections.abc import Mapping

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SIZE = 1024
IDENTITY, GZIP, BROTLI = "identity", "gzip", "br"
_COMPRESSIBLE = ("application/json", "text/")
_NEVER = ("text/event-stream",)  # streamed: a buffering middleware would hold events back


def choose_encoding(accept_encoding: str) -> str:
    """The encoding the client prefers among brotli and gzip (q-values honoured; equal
    preference goes to brotli, the smaller), else identity."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weights[name.strip().lower()] = q
    wildcard = weights.get("*", 0.0)
    br, gz = weights.get(BROTLI, wildcard), weights.get(GZIP, wildcard)
    if br > 0 and br >= gz:
        return BROTLI
    if gz > 0:
        return GZIP
    return IDENTITY


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == BROTLI:
        return bytes(brotli.compress(body, quality=4))  # fast and still smaller than gzip
    if encoding == GZIP:
        return gzip.compress(body, compresslevel=6, mtime=0)
    return body


def variants(body: bytes) -> Mapping[str, bytes]:
    """What the cache keeps of one answer: small ones as they are, large ones in each
    encoding too."""
    if len(body) < MIN_SIZE:
        return {IDENTITY: body}
    return {IDENTITY: body, GZIP: compress(body, GZIP), BROTLI: compress(body, BROTLI)}


class Compression:
    """Compress the whole (buffered) answers of an ASGI app that are JSON or text, 1 KB or
    more, and not streamed; everything else passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = choose_encoding(Headers(scope=scope).get("accept-encoding", ""))
        if encoding == IDENTITY:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Compressing(send, encoding))


class _Compressing:
    def __init__(self, send: Send, encoding: str) -> None:
        self._send = send
        self._encoding = encoding
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self._passing = False

    async def __call__(self, message: Message) -> None:
        if self._passing:
            await self._send(message)
        elif message["type"] == "http.response.start":
            self._start = message
            headers = Headers(raw=message["headers"])
            kind = headers.get("content-type", "")
            if (
                headers.get("content-encoding")
                or not kind.startswith(_COMPRESSIBLE)
                or kind.startswith(_NEVER)
            ):
                self._passing = True
                await self._send(message)
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._finish()

    async def _finish(self) -> None:
        assert self._start is not None
        body = b"".join(self._chunks)
        headers = MutableHeaders(raw=self._start["headers"])
        if len(body) >= MIN_SIZE:
            body = compress(body, self._encoding)
            headers["content-encoding"] = self._encoding
            headers.add_vary_header("Accept-Encoding")
        headers["content-length"] = str(len(body))
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body})
