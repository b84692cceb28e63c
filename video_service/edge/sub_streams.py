"""The cameras' sub-streams publishing to this edge (`rtsp://EDGE/cam/{id}/sub`, the camera's
own credentials): relayed for live view, never recorded, so the edge answers the publisher
itself, with no recorder behind it:

    ANNOUNCE  200 (the SDP names the tracks)
    SETUP     200 for RTP over the RTSP connection (interleaved), 461 for UDP
    RECORD    200; then the interleaved RTP goes to the stream's live feed
              (`sub_stream_id(camera)`), and keep-alives (GET_PARAMETER, SET_PARAMETER,
              OPTIONS) and TEARDOWN between the frames are answered

A sub-stream is owned on its own lease (`video_service.shared.streams` says why); a second
publisher of the same sub-stream, here or on another edge, replaces the first. While it is
live, what it is (codec, width and height from its SPS) is kept in Redis for the API.
"""

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.errors import BadMessage
from video_service.edge.events import EventSink
from video_service.edge.guard import cut_when_disabled
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.tap import CameraTap, InterleavedReader, interleaved_channels
from video_service.edge.relay import INGESTED, RELAY_CHUNK, send
from video_service.edge.rtsp import Message, parse_head, read_message, response
from video_service.edge.sessions import (
    CameraSessions,
    Silence,
    forget_facts,
    tell_facts,
    unhurried,
)
from video_service.edge.settings import EdgeSettings
from video_service.shared.ownership import Owner
from video_service.shared.streams import (
    sub_stream_id,
)

log = logging.getLogger(__name__)
SESSION_TIMEOUT_S = 60  # what the Session header tells the publisher
IDLE_S = 30.0  # a publisher that sends nothing for this long is gone
MAX_SETUP_REQUESTS = 16  # between ANNOUNCE and RECORD
KEEP_ALIVES = ("GET_PARAMETER", "SET_PARAMETER", "OPTIONS")
MAX_REQUESTS_PER_WINDOW = 60  # between the frames, per IDLE_S: a keep-alive is one a minute


@dataclass(eq=False)
class SubStreamSession:
    camera: CameraAuth
    writer: asyncio.StreamWriter
    done: asyncio.Event = field(default_factory=asyncio.Event)
    id: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def header(self) -> tuple[str, str]:
        return ("Session", f"{self.id};timeout={SESSION_TIMEOUT_S}")

    def stop(self) -> None:
        """Replaced, taken over, disabled: the connection is dropped at once (not closed
        after what is unsent: a publisher that stops reading would hold it), its reads end."""
        self.writer.transport.abort()


class SubStreams(CameraSessions[SubStreamSession]):
    def __init__(
        self,
        settings: EdgeSettings,
        leases: CameraLeases,
        feeds: LiveFeeds,
        directory: CameraDirectory,
        events: EventSink,
        *,
        edge: str,
    ) -> None:
        super().__init__(directory, events, leases, feeds)
        self._timeout_s = settings.request_timeout_s
        self._check_s = settings.enabled_check_s
        self._edge = edge

    async def publish(
        self,
        camera: CameraAuth,
        announce: Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Answer an accepted sub-stream publisher, and relay it until either side ends."""
        cseq = announce.header("CSeq")
        if (announce.header("Content-Type") or "").split(";")[0].strip() != "application/sdp":
            await send(writer, response(415, "Unsupported Media Type", cseq))
            return
        await self.end_previous(camera.id, "sub-stream")
        stream_id = sub_stream_id(camera.id)
        session = self.live[camera.id] = SubStreamSession(camera, writer)
        feed = self._feeds.open(stream_id)
        tap = CameraTap(announce.body.decode(errors="replace"), feed)
        poke = self.poke_event(camera.id)
        guard = asyncio.create_task(cut_when_disabled(
            self._directory, self._events, camera, self._check_s, session.stop, poke))  # fmt: skip
        owned = await self._leases.take(stream_id)
        if owned is not None and not self._leases.keep(owned):
            session.stop()
        holding = None
        if owned is not None:
            holding = asyncio.create_task(self._leases.hold(owned, session.stop))
        try:
            await self._send(writer, response(200, "OK", cseq))
            if await self._set_up(session, tap, reader, writer):
                await tell_facts(self._leases, stream_id, tap, self._edge, session.id)
                await self._relay(session, tap, reader, writer)
        except (TimeoutError, ConnectionError, BadMessage) as error:
            log.info("camera %s: its sub-stream ended: %s", camera.id, error or type(error))
        finally:
            for task in (guard, holding):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            await self._leases.release(stream_id)
            await forget_facts(self._leases, stream_id, session.id)
            self._feeds.close(feed)
            self.forget(camera.id, session)
            session.done.set()

    async def _set_up(
        self,
        session: SubStreamSession,
        tap: CameraTap,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """SETUP each track until RECORD (True) or the publisher leaves (False)."""
        for _ in range(MAX_SETUP_REQUESTS):
            request = await asyncio.wait_for(read_message(reader), self._timeout_s)
            if request is None:
                return False
            cseq = request.header("CSeq")
            if request.method == "SETUP":
                await self._send(writer, self._setup(request, tap, session, cseq))
            elif request.method == "RECORD":
                await self._send(writer, response(200, "OK", cseq, session.header))
                return True
            elif request.method in KEEP_ALIVES:
                await self._send(writer, response(200, "OK", cseq))
            elif request.method == "TEARDOWN":
                await self._send(writer, response(200, "OK", cseq))
                return False
            else:
                await self._send(writer, response(455, "Method Not Valid in This State", cseq))
        raise BadMessage("too many requests before RECORD")

    def _setup(
        self, request: Message, tap: CameraTap, session: SubStreamSession, cseq: str | None
    ) -> Message:
        transport = request.header("Transport") or ""
        channels = interleaved_channels(transport)
        if "TCP" not in transport.upper() or channels is None:
            why = ("X-Reason", "a sub-stream is taken over TCP only (interleaved)")
            return response(461, "Unsupported Transport", cseq, why)
        first, second = channels
        if first > 255 or second > 255:
            return response(461, "Unsupported Transport", cseq)
        tap.note_setup(request)
        answer = f"RTP/AVP/TCP;unicast;interleaved={first}-{second};mode=record"
        return response(200, "OK", cseq, ("Transport", answer), session.header)

    async def _relay(
        self,
        session: SubStreamSession,
        tap: CameraTap,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Interleaved frames into the feed, requests between them answered, until the
        publisher leaves, says TEARDOWN, or is replaced."""
        requests: list[bytes] = []
        frames = InterleavedReader(requests.append)
        loop = asyncio.get_running_loop()
        window, asked = loop.time(), 0  # requests in the current window of IDLE_S
        async with Silence(IDLE_S) as silence:
            while chunk := await reader.read(RELAY_CHUNK):
                silence.heard()
                INGESTED.add(len(chunk))
                tap.read_or_end(frames, chunk)
                if requests and loop.time() - window > IDLE_S:
                    window, asked = loop.time(), 0
                asked += len(requests)
                if asked > MAX_REQUESTS_PER_WINDOW:
                    limit = f"more than {MAX_REQUESTS_PER_WINDOW} requests in {IDLE_S:.0f} s"
                    raise BadMessage(limit)
                while requests:
                    if not await self._answer(parse_head(requests.pop(0)), session):
                        return
                await unhurried(tap.feed)

    async def _answer(self, request: Message, session: SubStreamSession) -> bool:
        """Answer a request that came between the frames; False after TEARDOWN."""
        cseq, writer = request.header("CSeq"), session.writer
        if request.method in (*KEEP_ALIVES, "TEARDOWN"):
            await self._send(writer, response(200, "OK", cseq, session.header))
        else:
            await self._send(writer, response(455, "Method Not Valid in This State", cseq))
        return request.method != "TEARDOWN"

    async def _send(self, writer: asyncio.StreamWriter, message: Message) -> None:
        """An answer, or TimeoutError for a publisher that does not read its answers."""
        # not wait_for: 3.11's could swallow the session's own cut (`Silence`) as it finished
        async with asyncio.timeout(self._timeout_s):
            await send(writer, message)

    def taken(self, owner: Owner) -> bool:
        """Another edge took a sub-stream: cut it off here if it is here (unless this edge
        holds a newer lease); whether it was a sub-stream's lease."""
        camera_id, _, stream = owner.camera_id.partition("/")
        if not stream:
            return False
        session = self.live.get(camera_id)
        if session is not None:
            self._leases.heard_taken(owner, session.stop)
        return True
