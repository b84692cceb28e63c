"""The edge's RTSP port, up to an accepted publisher: OPTIONS, then ANNOUNCE checked by
`auth.Authenticator`; the accepted one is handed to `publish` with its connection (a
camera's main stream, recorded), or to `publish_sub` for its sub-stream (`/cam/{id}/sub`,
relayed only: `sub_streams`).

Garbage, oversized heads, unknown methods and clients that never finish a request are
answered (400, 405, 455) or dropped, and each refusal is counted against the address
(`refusals`), on the connection it came on: an address past its refusals is cut off there
and then, not at its next connection. A connection may ask `MAX_REQUESTS` things before it
publishes; the edge holds at most `max_connections` (`SPARC_RTSP_MAX_CONNECTIONS`, by
default a quarter of its file descriptors: each publisher costs about four) and an address
half of them (a site's cameras may all be behind one address); past them, a connection is
closed at once, unread. Each connection is its own task, so none of that
reaches other cameras.
"""

import asyncio
import contextlib
import resource
from collections import Counter
from collections.abc import Awaitable, Callable

from video_service.edge.auth import CAMERA_PATH, Authenticator
from video_service.edge.directory import CameraAuth
from video_service.edge.errors import BadMessage, Refused
from video_service.edge.refusals import Refusals
from video_service.edge.relay import send
from video_service.edge.rtsp import Message, read_message, response
from video_service.shared.streams import SUB

PUBLIC_METHODS = "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER"
MAX_REQUESTS = 16  # before an accepted ANNOUNCE: OPTIONS, a challenge, a retry or two
Publish = Callable[
    [CameraAuth, Message, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]
]


def is_sub_stream(url: str) -> bool:
    """Whether an ANNOUNCE names a camera's sub-stream (`rtsp://EDGE/cam/{id}/sub`)."""
    match = CAMERA_PATH.match(url)
    return match is not None and match.group(3) in (f"/{SUB}", f"/{SUB}/")


class RtspDoor:
    def __init__(
        self,
        auth: Authenticator,
        refusals: Refusals,
        recording_allowed: Callable[[], bool],
        publish: Publish,
        request_timeout_s: float,
        max_connections: int = 0,
        publish_sub: Publish | None = None,
    ) -> None:
        """`max_connections`: 0, a quarter of the process's file descriptors; `publish_sub`:
        a sub-stream's publisher (`/cam/{id}/sub`), None: refused as unknown (404)."""
        self._auth = auth
        self._publish_sub = publish_sub
        self._refusals = refusals
        self._recording_allowed = recording_allowed
        self._publish = publish
        self._timeout_s = request_timeout_s
        self._open: Counter[str] = Counter()  # connections now, by address
        self._max = max_connections or max(64, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, from accept to close (the asyncio server's callback)."""
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        self._open[address] += 1
        try:
            if self._refusals.shut_out(address) or not self._room(address):
                return  # closed unread, at no cost to us
            await self._converse(reader, writer, address)
        except BadMessage as error:
            self._refusals.note(address)
            await send(writer, response(400, "Bad Request", None, ("X-Reason", str(error))))
        except (TimeoutError, ConnectionError):
            self._refusals.note(address)  # a client that stalls or vanishes is dropped
        finally:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _room(self, address: str) -> bool:
        """Whether the edge takes this connection (it is counted already)."""
        if self._open[address] > self._max // 2:
            self._refusals.note(address)
            return False
        return self._open.total() <= self._max

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str
    ) -> None:
        for _ in range(MAX_REQUESTS):
            request = await asyncio.wait_for(read_message(reader), self._timeout_s)
            if request is None:
                return
            if request.status:
                raise BadMessage("a client sent a response")
            cseq = request.header("CSeq")
            if request.method == "OPTIONS":
                await send(writer, response(200, "OK", cseq, ("Public", PUBLIC_METHODS)))
                continue
            sub = request.method == "ANNOUNCE" and is_sub_stream(request.url)
            publish = self._publish_sub if sub else self._publish
            if request.method == "ANNOUNCE" and publish is None:
                self._refusals.note(address)
                await send(writer, response(404, "Not Found", cseq))
            elif request.method == "ANNOUNCE" and not sub and not self._recording_allowed():
                reason = ("X-Reason", "the recording disk is full")
                await send(writer, response(453, "Not Enough Bandwidth", cseq, reason))
            elif request.method == "ANNOUNCE" and publish is not None:
                try:
                    camera = await self._auth.authorize(request, address)
                except Refused as refused:
                    await send(writer, refused.answer)
                else:
                    await publish(camera, request, reader, writer)
                    return
            elif request.method in ("DESCRIBE", "PLAY"):
                self._refusals.note(address)
                await send(writer, response(405, "Method Not Allowed", cseq,
                                            ("Allow", PUBLIC_METHODS)))  # fmt: skip
            else:
                self._refusals.note(address)
                await send(writer, response(455, "Method Not Valid in This State", cseq))
            if self._refusals.shut_out(address):
                return  # refused too often: cut off now, on this connection too
        self._refusals.note(address)  # asked too much without publishing
