"""Live view over WebRTC: WHEP (draft-ietf-wish-whep) on the edge that records the camera.

    POST   /whep/{camera_id}        an SDP offer (application/sdp) and the viewer's token
                                    (`Authorization: Bearer`, or `?token=` as the playback
                                    API hands it out) -> 201, the answer, `Location`
    POST   /whep/{camera_id}/sub    the same, of the camera's sub-stream (its own token:
                                    the playback answer's `webrtc_sub`)
    PATCH  /whep/sessions/{id}      trickle ICE (application/trickle-ice-sdpfrag) -> 204
    DELETE /whep/sessions/{id}      the session ends -> 200

Checked in this order, before any ICE work: the camera id's shape (404), a token (401), its
signature, expiry and camera (403), the offer's size and shape (400: at most one video, one
audio and one data m-line, unique mids, payload types 0-127, a known `a=setup`), the
token's sessions not connected yet (429: `webrtc_pending_per_token`; a token is shared by
a camera's viewers, who connect within a second), the edge's viewer cap (503,
`Retry-After`), the camera publishing here (404) and relayable (409: B-frames, not H.264),
the offer having H.264 with packetization mode 1 (400). Anything else aiortc cannot answer
is a 400 too, and gives its viewer slot back. The answer carries every candidate
(aiortc gathers before answering; on the interface and UDP port range the settings name,
`ice.py`, and 503 when the range has no port free), so a player need not trickle. The
camera's audio goes as it is where WebRTC carries it (G.711, Opus) and the offer has it;
`X-Audio` says the codec, or why there is no sound (AAC: WebRTC has no AAC, and live view
does not transcode).

A session ends with its token, when its viewer has not connected `webrtc_connect_timeout_s`
after the answer, when the viewer's connection fails, when the camera stops publishing, or
on DELETE. The session's URL (128 random bits) is its capability. Trickled candidates are
checked and counted: at most `MAX_REMOTE_CANDIDATES` a session (each one is a destination
the edge sends STUN checks to).
"""

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from cdn.errors import TokenRejected
from cdn.signing import OriginSigner
from video_service.edge.errors import LiveViewRefused, NoFreePort
from video_service.edge.live_view.broadcast import Broadcast, Broadcasts, SenderUnsupported
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.ice import ANY_HOST, HostPlan, adopt, guard_stun, host_plan
from video_service.edge.live_view.track import RelayedAudio, RelayedVideo
from video_service.edge.metrics import edge_metrics
from video_service.edge.settings import EdgeSettings
from video_service.shared.streams import sub_stream_id
from workers.base.layout import whep_path, whep_session_path
from workers.base.secrets import origin_secret

log = logging.getLogger(__name__)

MAX_OFFER_BYTES = 16 * 1024  # a browser's offer is 3-8 KB
MAX_REMOTE_CANDIDATES = 16
# What live view sends: one video and one audio stream (a browser may add a data channel).
MAX_M_LINES = {"video": 1, "audio": 1, "application": 1}
SETUP_ROLES = {"actpass", "active", "passive"}
# Each packet carries the mid (RFC 8843): browsers name theirs "0", "1" or "video0"; an RTP
# header extension holds at most 255 bytes.
MAX_MID = 32
# What the answer says of the stream: constrained baseline, which every browser decoding
# H.264 over WebRTC accepts (the camera's own profile plays regardless: decoders do not
# hold the stream to it), packetization mode 1 (FU-A, STAP-A).
PROFILE_LEVEL_ID = "42e01f"
RETRY_AFTER_S = 5
_CAMERA_ID = re.compile(r"^[0-9a-f]{32}$")
_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
# RFC 8839's candidate-attribute, as far as aiortc reads it.
_CANDIDATE = re.compile(
    r"^candidate:[!-~]{1,32} \d{1,3} (udp|tcp) \d{1,10} [0-9A-Za-z.:-]{1,255} \d{1,5} typ "
    r"(host|srflx|prflx|relay)( [ -~]*)?$",
    re.IGNORECASE,
)
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_EXTMAP = re.compile(r"^a=extmap:(?:[1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])(?:/\w+)? \S+")
_H264_PT = re.compile(r"^a=rtpmap:(\d+) H264/90000\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class WhepSession:
    id: str
    camera_id: str  # its feed's: the camera's id, or its sub-stream's (`sub_stream_id`)
    connection: RTCPeerConnection
    track: RelayedVideo
    broadcast: Broadcast  # what sends it the camera's video and sound
    expires: int
    holder: str  # whose token opened it (its digest)
    connected: bool = False  # its viewer's connection came up (it no longer counts as pending)
    answer: str = ""
    audio: str = "none"  # the codec sent, or why there is no sound
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    expiry: "asyncio.Task[None] | None" = None
    candidates: int = 0  # remote candidates trickled so far


class WhepService:
    """The WHEP sessions of one edge."""

    def __init__(
        self,
        feeds: LiveFeeds,
        signer: OriginSigner,
        *,
        max_viewers: int,
        pending_per_token: int = 8,
        connect_timeout_s: float = 10.0,
        ice_servers: tuple[RTCIceServer, ...] = (),
        hosts: HostPlan = ANY_HOST,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feeds = feeds
        self.sessions: dict[str, WhepSession] = {}
        self._signer = signer
        self._max_viewers = max_viewers
        self._pending_per_token = pending_per_token
        self._connect_timeout_s = connect_timeout_s
        self._pending: Counter[str] = Counter()  # token digest -> offers, unconnected sessions
        self._ice_servers = list(ice_servers)
        self._hosts = hosts
        self._clock = clock
        self._opening = 0  # offers being answered: they count against the cap already
        self._broadcasts = Broadcasts()

    async def close(self) -> None:
        await asyncio.gather(*(self.end(s.id) for s in list(self.sessions.values())))
        self._broadcasts.close()

    async def open(
        self, camera_id: str, token: str, offer: str, sub: bool = False
    ) -> WhepSession | Response:
        """A new session answering `offer` with the camera's main stream or its sub-stream
        (`sub`), or the refusal (see the module's order)."""
        if not _CAMERA_ID.match(camera_id):
            return _refused(404, "no such camera")
        if not token:
            return _refused(401, "a viewer token is needed", {"WWW-Authenticate": "Bearer"})
        try:
            grant = self._signer.verify(whep_path(camera_id, sub), token, now=self._clock())
        except TokenRejected as rejected:
            return _refused(403, str(rejected))
        bad = offer_problem(offer)
        if bad is not None:
            return _refused(400, f"the offer cannot be answered: {bad}")
        holder = hashlib.blake2b(token.encode(), digest_size=16).hexdigest()
        if self._pending[holder] >= self._pending_per_token:
            many = (f"this token has {self._pending_per_token} live sessions that have not "
                    "connected yet: connect or end one first")  # fmt: skip
            return _refused(429, many, {"Retry-After": str(RETRY_AFTER_S)})
        if len(self.sessions) + self._opening >= self._max_viewers:
            busy = "this edge has as many live viewers as it takes: try again shortly, or use HLS"
            return _refused(503, busy, {"Retry-After": str(RETRY_AFTER_S)})
        feed_id = sub_stream_id(camera_id) if sub else camera_id
        feed = self.feeds.get(feed_id)
        if feed is None:
            stream = "sub-stream" if sub else "stream"
            return _refused(404, f"the camera's {stream} is not publishing to this edge")
        if not _H264_PT.search(offer) or "packetization-mode=1" not in offer:
            return _refused(400, "the offer has no H.264 video with packetization-mode=1")
        try:
            broadcast = self._broadcasts.hold(feed)
        except LiveViewRefused as refused:
            return _refused(409, str(refused))
        try:
            track = RelayedVideo()
            connection = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
            session = WhepSession(
                secrets.token_hex(16), feed_id, connection, track, broadcast, grant.expires, holder
            )
            sound = None
            if feed.audio_codec is not None and _offers(offer, feed.audio_codec[0]):
                sound = (RelayedAudio(), feed.audio_codec[0])
        except BaseException:
            self._broadcasts.release(broadcast)
            raise
        self._opening += 1
        self._pending[holder] += 1
        try:
            answer = await _answer(connection, broadcast, track, offer, sound, self._hosts)
        except NoFreePort as full:
            await self._drop(session)
            busy = f"no UDP port free for live view on this edge ({full.strerror}): use HLS"
            return _refused(503, busy, {"Retry-After": str(RETRY_AFTER_S)})
        except SenderUnsupported as unsupported:  # this edge's fault, not the offer's
            log.error("live view cannot send: %s", unsupported)
            await self._drop(session)
            return _refused(503, "live view is out of order on this edge: use HLS")
        except asyncio.CancelledError:  # the request went away: nothing kept
            self._give_back(session)
            asyncio.get_running_loop().create_task(_close(session.connection))
            raise
        except Exception as error:  # aiortc's word on an offer it cannot use
            # (ValueError, OperationError, KeyError, AttributeError ... from deep in its
            # parser: the offer was hostile or broken, never our fault).
            await self._drop(session)
            said = f"{type(error).__name__}: {error}"[:200]
            return _refused(400, f"the offer cannot be answered ({said})")
        finally:
            self._opening -= 1
        if answer is None:
            await self._drop(session)
            return _refused(400, "the offer has no H.264 video this edge can send")
        session.answer = answer
        if sound is not None:
            session.audio = sound[1]
        elif feed.audio_codec is not None:
            session.audio = f"none: the offer has no {feed.audio_codec[0]}"
        else:
            session.audio = f"none: {feed.audio_note or 'the camera sends no audio'}"
        self.sessions[session.id] = session
        edge_metrics().webrtc_viewers.set(len(self.sessions))
        self._watch(session)
        return session

    async def trickle(self, session_id: str, fragment: str) -> Response:
        """RFC 8840's fragment: ICE credentials, m= and mid lines, candidates, the end of
        them. Anything else, a candidate that does not parse, or more candidates than a
        session takes: 400, and none of the fragment's candidates is used."""
        session = self.sessions.get(session_id)
        if session is None:
            return _refused(404, "no such session (ended?)")
        lines = [line.strip() for line in fragment.splitlines() if line.strip()]
        if not lines or any(not line.startswith(_FRAGMENT_LINES) for line in lines):
            return _refused(400, "not a trickle-ice-sdpfrag")
        mid = next((line[6:] for line in lines if line.startswith("a=mid:")), "0")
        candidates = []
        for line in lines:
            if line.startswith("a=candidate:"):
                text = line[2:]
                if not _CANDIDATE.match(text):
                    return _refused(400, "a candidate that does not parse")
                try:
                    candidate = candidate_from_sdp(text)
                except (ValueError, IndexError, KeyError):
                    return _refused(400, "a candidate that does not parse")
                candidate.sdpMid = mid
                candidates.append(candidate)
        if session.candidates + len(candidates) > MAX_REMOTE_CANDIDATES:
            return _refused(400, f"a session takes at most {MAX_REMOTE_CANDIDATES} candidates")
        session.candidates += len(candidates)
        for candidate in candidates:
            await session.connection.addIceCandidate(candidate)
        return Response(status_code=204)

    async def _drop(self, session: WhepSession) -> None:
        """An offer not answered: its viewer slot and its token's count given back."""
        self._give_back(session)
        await _close(session.connection)

    def _give_back(self, session: WhepSession) -> None:
        self._broadcasts.release(session.broadcast)
        self._release(session.holder)

    def _release(self, holder: str) -> None:
        self._pending[holder] -= 1
        if self._pending[holder] <= 0:
            del self._pending[holder]

    def _connected(self, session: WhepSession) -> None:
        if not session.connected:
            session.connected = True
            self._release(session.holder)

    async def end(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        if not session.connected:
            self._release(session.holder)
        edge_metrics().webrtc_viewers.set(len(self.sessions))
        session.track.stop()
        self._broadcasts.release(session.broadcast)
        session.ended.set()
        if session.expiry is not None and session.expiry is not asyncio.current_task():
            session.expiry.cancel()
        with contextlib.suppress(Exception):  # a connection already torn down
            await session.connection.close()
        return True

    def _watch(self, session: WhepSession) -> None:
        """End the session with its token, its connection, or its feed."""

        @session.connection.on("connectionstatechange")
        async def changed() -> None:
            state = session.connection.connectionState
            if state == "connected":
                self._connected(session)
            elif state in ("failed", "closed"):
                await self.end(session.id)

        @session.track.on("ended")
        async def stopped() -> None:
            await self.end(session.id)

        async def expire() -> None:
            """Ends it with its token, or sooner if its viewer has not connected in time."""
            left = session.expires - self._clock()
            if left > self._connect_timeout_s:
                await asyncio.sleep(self._connect_timeout_s)
                if not session.connected:
                    log.info("WHEP session %s: no connection in %.0f s, ended", session.id,
                             self._connect_timeout_s)  # fmt: skip
                    await self.end(session.id)
                    return
            await asyncio.sleep(max(0.0, session.expires - self._clock()))
            await self.end(session.id)

        session.expiry = asyncio.create_task(expire())


async def _close(connection: RTCPeerConnection) -> None:
    with contextlib.suppress(Exception):  # a connection aiortc left half made
        await connection.close()


_FRAGMENT_LINES = ("a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "a=group:", "m=", "a=mid:",
                   "a=candidate:", "a=end-of-candidates")  # fmt: skip
_M_LINE = re.compile(r"^m=(\w+) (\d{1,5})(?:/\d{1,5})? ([A-Z0-9/]{1,32})((?: \d{1,3})*)$")


def offer_problem(offer: str) -> str | None:
    """What makes an offer one live view will not answer, checked on its text before aiortc
    sees it (its parser is not built for hostile input: 480 m-lines cost 55 MiB and a second
    of the event loop); None when there is nothing."""
    kinds: Counter[str] = Counter()
    mids: set[str] = set()
    for raw in offer.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            match = _M_LINE.match(line)
            if match is None:
                return f"an m-line that does not parse: {line[:40]!r}"
            kind, payloads = match[1], match[4].split()
            kinds[kind] += 1
            if kinds[kind] > MAX_M_LINES.get(kind, 0):
                return (
                    f"live view takes at most one {kind} stream"
                    if kind in MAX_M_LINES
                    else (f"live view sends no {kind[:16]!r} stream")
                )
            if any(int(payload) > 127 for payload in payloads):
                return "a payload type past 127"
        elif line.startswith("a=mid:"):
            mid = line[6:]
            if len(mid) > MAX_MID:
                return f"a mid of more than {MAX_MID} characters"
            if mid in mids:
                return f"two streams share the mid {mid[:16]!r}"
            mids.add(mid)
        elif line.startswith("a=extmap:") and not _EXTMAP.match(line):
            return f"an extmap that does not parse (ids are 1-255): {line[:40]!r}"
        elif line.startswith("a=setup:") and line[8:] not in SETUP_ROLES:
            return f"a=setup:{line[8:][:16]} (actpass, active or passive)"
    if not kinds:
        return "no m-line"
    return None


def _offers(offer: str, mime: str) -> bool:
    """Whether an offer names a codec (`audio/PCMU`) in its rtpmap lines."""
    name = mime.split("/")[1].lower()
    return any(line.lower().startswith("a=rtpmap:") and f" {name}/" in line.lower()
               for line in offer.splitlines())  # fmt: skip


async def _answer(
    connection: RTCPeerConnection,
    broadcast: Broadcast,
    track: RelayedVideo,
    offer: str,
    sound: tuple[RelayedAudio, str] | None,
    hosts: HostPlan,
) -> str | None:
    """The codec preferences are set before the offer is applied: without them aiortc
    answers with the first codec both sides know, VP8 (and, for sound, what it would
    encode itself, not what the camera sends)."""
    transceiver = connection.addTransceiver(track, direction="sendonly")
    h264 = [
        codec
        for codec in RTCRtpSender.getCapabilities("video").codecs
        if codec.mimeType.lower() == "video/h264"
        and codec.parameters.get("profile-level-id") == PROFILE_LEVEL_ID
    ]
    rtx = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/rtx"]
    transceiver.setCodecPreferences([*h264, *rtx])
    heard = None
    if sound is not None:
        audio, mime = sound
        speaker = connection.addTransceiver(audio, direction="sendonly")
        speaker.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                     if c.mimeType.lower() == mime.lower()])  # fmt: skip
        heard = speaker.sender
    broadcast.take_over(transceiver.sender, heard)
    await connection.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    if not any(c.mimeType.lower() == "video/h264" for c in transceiver._codecs):
        return None
    _no_bandwidth_estimates(transceiver)
    adopt(connection, hosts)
    answer = await connection.createAnswer()
    await connection.setLocalDescription(answer)
    guard_stun(connection)
    return str(connection.localDescription.sdp)


def _no_bandwidth_estimates(transceiver: RTCRtpTransceiver) -> None:
    """The answer asks for no bandwidth estimates (REMB, and the abs-send-time each packet
    would carry for them): the relay sends the camera's stream as it is and could not follow
    them. Without them a viewer sends a report a second, not three (aiortc's viewers sent two
    REMB a second), and each packet is 8 bytes shorter. NACK and PLI are kept."""
    transceiver._headerExtensions = [extension for extension in transceiver._headerExtensions
                                     if extension.uri != ABS_SEND_TIME]  # fmt: skip
    for codec in transceiver._codecs:
        codec.rtcpFeedback = [f for f in codec.rtcpFeedback if f.type != "goog-remb"]


def ice_servers(settings: EdgeSettings) -> tuple[RTCIceServer, ...]:
    password = settings.webrtc_turn_password
    return tuple(
        RTCIceServer(url, settings.webrtc_turn_username,
                     password.get_secret_value() if password else None)
        if url.startswith(("turn:", "turns:")) else RTCIceServer(url)
        for url in settings.webrtc_ice_servers
    )  # fmt: skip


def _refused(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(reason + "\n", status_code=status, headers=headers)


def whep_app(service: WhepService) -> Starlette:
    async def offer(request: Request, sub: bool = False) -> Response:
        camera_id = request.path_params["camera_id"]
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/sdp":
            return _refused(415, "the offer must be application/sdp")
        body = await _limited_body(request)
        if body is None:
            return _refused(400, f"the offer is over {MAX_OFFER_BYTES // 1024} KiB")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            return _refused(400, "the offer is not SDP (not ASCII)")
        opened = await service.open(camera_id, _token(request), text, sub)
        if isinstance(opened, Response):
            edge_metrics().webrtc_refusals.labels(str(opened.status_code)).inc()
            return opened
        return Response(
            opened.answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": whep_session_path(opened.id), "X-Audio": opened.audio},
        )

    async def offer_sub(request: Request) -> Response:
        return await offer(request, sub=True)

    async def patch(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not _SESSION_ID.match(session_id):
            return _refused(404, "no such session")
        body = await _limited_body(request)
        if body is None:
            return _refused(400, "the fragment is too large")
        return await service.trickle(session_id, body.decode("ascii", errors="replace"))

    async def delete(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not _SESSION_ID.match(session_id) or not await service.end(session_id):
            return _refused(404, "no such session (ended?)")
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/whep/sessions/{session_id}", patch, methods=["PATCH"]),
            Route("/whep/sessions/{session_id}", delete, methods=["DELETE"]),
            Route("/whep/{camera_id}", offer, methods=["POST"]),
            Route("/whep/{camera_id}/sub", offer_sub, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,  # a player on the API's origin calls the edge's
                allow_origins=["*"],
                allow_methods=["POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "If-Match"],
                expose_headers=["Location", "Retry-After", "X-Audio"],
            )
        ],
    )


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token", "")


async def _limited_body(request: Request) -> bytes | None:
    """The body, or None past MAX_OFFER_BYTES (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_OFFER_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_OFFER_BYTES:
            return None
    return bytes(body)


class _InLoopServer(uvicorn.Server):
    """uvicorn in the edge's own event loop: the edge's signal handling stays the edge's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_whep(
    service: WhepService, host: str, port: int
) -> tuple[int, Callable[[], Awaitable[None]]]:
    """Serve WHEP on `host:port` (0: any free port) in this event loop: the bound port, and
    the coroutine function that stops it (its sessions first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(whep_app(service), log_level="warning", lifespan="off",
                            access_log=False)  # fmt: skip
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # its failure, raised here

    async def stop() -> None:
        await service.close()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()

    return int(sock.getsockname()[1]), stop


async def start_live_view(
    settings: EdgeSettings, feeds: LiveFeeds, host: str | None, port: int | None
) -> tuple[WhepService, int, Callable[[], Awaitable[None]]]:
    """Live view of `feeds` as `settings` say (the viewer cap, ICE servers, the host
    candidates' interface and ports): the service, its bound port, and how to stop it."""
    signer = OriginSigner(await asyncio.to_thread(origin_secret, settings))
    hosts = host_plan(settings.webrtc_interface, settings.webrtc_udp_ports)
    service = WhepService(feeds, signer, max_viewers=settings.webrtc_max_viewers,
                          pending_per_token=settings.webrtc_pending_per_token,
                          connect_timeout_s=settings.webrtc_connect_timeout_s,
                          ice_servers=ice_servers(settings), hosts=hosts)  # fmt: skip
    port = settings.whep_port if port is None else port
    bound, stop = await serve_whep(service, host or settings.whep_host, port)
    return service, bound, stop
