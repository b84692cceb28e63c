"""The edge's RTSP port, up to an accepted publisher: OPTIONS, then ANNOUNCE checked by
`auth.Authenticator`; the accepted one is handed to `publish` with its connection.

Garbage, oversized heads and clients that never finish a request are answered 400 or
dropped, and counted against their address (`refusals`); each connection is its own task, so
none of that reaches other cameras.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from video_service.edge.auth import Authenticator
from video_service.edge.directory import CameraAuth
from video_service.edge.errors import BadMessage, Refused
from video_service.edge.refusals import Refusals
from video_service.edge.relay import send
from video_service.edge.rtsp import Message, read_message, response

PUBLIC_METHODS = "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER"
Publish = Callable[
    [CameraAuth, Message, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]
]


class RtspDoor:
    def __init__(
        self,
        auth: Authenticator,
        refusals: Refusals,
        recording_allowed: Callable[[], bool],
        publish: Publish,
        request_timeout_s: float,
    ) -> None:
        self._auth = auth
        self._refusals = refusals
        self._recording_allowed = recording_allowed
        self._publish = publish
        self._timeout_s = request_timeout_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, from accept to close (the asyncio server's callback)."""
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        try:
            if self._refusals.shut_out(address):
                return  # refused too often of late: closed unread, at no cost to us
            await self._converse(reader, writer, address)
        except BadMessage as error:
            self._refusals.note(address)
            await send(writer, response(400, "Bad Request", None, ("X-Reason", str(error))))
        except (TimeoutError, ConnectionError):
            self._refusals.note(address)  # a client that stalls or vanishes is dropped
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str
    ) -> None:
        while True:
            request = await asyncio.wait_for(read_message(reader), self._timeout_s)
            if request is None:
                return
            if request.status:
                raise BadMessage("a client sent a response")
            cseq = request.header("CSeq")
            if request.method == "OPTIONS":
                await send(writer, response(200, "OK", cseq, ("Public", PUBLIC_METHODS)))
            elif request.method == "ANNOUNCE" and not self._recording_allowed():
                reason = ("X-Reason", "the recording disk is full")
                await send(writer, response(453, "Not Enough Bandwidth", cseq, reason))
            elif request.method == "ANNOUNCE":
                try:
                    camera = await self._auth.authorize(request, address)
                except Refused as refused:
                    await send(writer, refused.answer)
                    continue
                await self._publish(camera, request, reader, writer)
                return
            elif request.method in ("DESCRIBE", "PLAY"):
                await send(writer, response(405, "Method Not Allowed", cseq,
                                            ("Allow", PUBLIC_METHODS)))  # fmt: skip
            else:
                await send(writer, response(455, "Method Not Valid in This State", cseq))
