"""Live view over WebRTC: WHEP (draft-ietf-wish-whep) on the edge that records the camera.

    POST   /whep/{camera_id}        an SDP offer (application/sdp) and the viewer's token
                                    (`Authorization: Bearer`, or `?token=` as the playback
                                    API hands it out) -> 201, the answer, `Location`
    PATCH  /whep/sessions/{id}      trickle ICE (application/trickle-ice-sdpfrag) -> 204
    DELETE /whep/sessions/{id}      the session ends -> 200

Checked in this order, before any ICE work: the camera id's shape (404), a token (401), its
signature, expiry and camera (403), the offer's size (400), the edge's viewer cap (503,
`Retry-After`), the camera publishing here (404) and relayable (409: B-frames, not H.264),
the offer having H.264 with packetization mode 1 (400). The answer carries every candidate
(aiortc gathers before answering; on the interface and UDP port range the settings name,
`ice.py`, and 503 when the range has no port free), so a player need not trickle. The
camera's audio goes as it is where WebRTC carries it (G.711, Opus) and the offer has it;
`X-Audio` says the codec, or why there is no sound (AAC: WebRTC has no AAC, and live view
does not transcode).

A session ends with its token, when the viewer's connection fails, when the camera stops
publishing, or on DELETE. The session's URL (128 random bits) is its capability.
"""

import asyncio
import contextlib
import logging
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import OperationError
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
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.ice import ANY_HOST, HostPlan, adopt, host_plan
from video_service.edge.live_view.track import RelayedAudio, RelayedVideo
from video_service.edge.metrics import edge_metrics
from video_service.edge.settings import EdgeSettings
from workers.base.layout import whep_path, whep_session_path
from workers.base.secrets import origin_secret

log = logging.getLogger(__name__)

MAX_OFFER_BYTES = 64 * 1024
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
_H264_PT = re.compile(r"^a=rtpmap:(\d+) H264/90000\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class WhepSession:
    id: str
    camera_id: str
    connection: RTCPeerConnection
    track: RelayedVideo
    expires: int
    answer: str = ""
    audio: str = "none"  # the codec sent, or why there is no sound
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    expiry: "asyncio.Task[None] | None" = None


class WhepService:
    """The WHEP sessions of one edge."""

    def __init__(
        self,
        feeds: LiveFeeds,
        signer: OriginSigner,
        *,
        max_viewers: int,
        ice_servers: tuple[RTCIceServer, ...] = (),
        hosts: HostPlan = ANY_HOST,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feeds = feeds
        self.sessions: dict[str, WhepSession] = {}
        self._signer = signer
        self._max_viewers = max_viewers
        self._ice_servers = list(ice_servers)
        self._hosts = hosts
        self._clock = clock
        self._opening = 0  # offers being answered: they count against the cap already

    async def close(self) -> None:
        await asyncio.gather(*(self.end(s.id) for s in list(self.sessions.values())))

    async def open(self, camera_id: str, token: str, offer: str) -> WhepSession | Response:
        """A new session answering `offer`, or the refusal (see the module's order)."""
        if not _CAMERA_ID.match(camera_id):
            return _refused(404, "no such camera")
        if not token:
            return _refused(401, "a viewer token is needed", {"WWW-Authenticate": "Bearer"})
        try:
            grant = self._signer.verify(whep_path(camera_id), token, now=self._clock())
        except TokenRejected as rejected:
            return _refused(403, str(rejected))
        if len(self.sessions) + self._opening >= self._max_viewers:
            busy = "this edge has as many live viewers as it takes: try again shortly, or use HLS"
            return _refused(503, busy, {"Retry-After": str(RETRY_AFTER_S)})
        feed = self.feeds.get(camera_id)
        if feed is None:
            return _refused(404, "the camera is not publishing to this edge")
        if not _H264_PT.search(offer) or "packetization-mode=1" not in offer:
            return _refused(400, "the offer has no H.264 video with packetization-mode=1")
        try:
            viewer = feed.join()
        except LiveViewRefused as refused:
            return _refused(409, str(refused))
        track = RelayedVideo(viewer)
        connection = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        session = WhepSession(secrets.token_hex(16), camera_id, connection, track, grant.expires)
        sound = None
        if feed.audio_codec is not None and _offers(offer, feed.audio_codec[0]):
            sound = (RelayedAudio(viewer, feed.audio_codec[1]), feed.audio_codec[0])
        self._opening += 1
        try:
            answer = await _answer(connection, track, offer, sound, self._hosts)
        except (ValueError, OperationError) as error:  # aiortc's word on an unusable offer
            feed.leave(viewer)
            await connection.close()
            return _refused(400, f"the offer cannot be answered: {error}")
        except NoFreePort as full:
            feed.leave(viewer)
            await connection.close()
            busy = f"no UDP port free for live view on this edge ({full.strerror}): use HLS"
            return _refused(503, busy, {"Retry-After": str(RETRY_AFTER_S)})
        finally:
            self._opening -= 1
        if answer is None:
            feed.leave(viewer)
            await connection.close()
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
        session = self.sessions.get(session_id)
        if session is None:
            return _refused(404, "no such session (ended?)")
        mid = next((line[6:].strip() for line in fragment.splitlines()
                    if line.startswith("a=mid:")), "0")  # fmt: skip
        for line in fragment.splitlines():
            if line.startswith("a=candidate:"):
                text = line[2:].strip()
                if not _CANDIDATE.match(text):
                    return _refused(400, "a candidate that does not parse")
                try:
                    candidate = candidate_from_sdp(text)
                except (ValueError, IndexError, KeyError):
                    return _refused(400, "a candidate that does not parse")
                candidate.sdpMid = mid
                await session.connection.addIceCandidate(candidate)
        return Response(status_code=204)

    async def end(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        edge_metrics().webrtc_viewers.set(len(self.sessions))
        session.track.stop()
        feed = self.feeds.get(session.camera_id)
        if feed is not None:
            feed.leave(session.track.viewer)
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
            if session.connection.connectionState in ("failed", "closed"):
                await self.end(session.id)

        @session.track.on("ended")
        async def stopped() -> None:
            await self.end(session.id)

        async def expire() -> None:
            await asyncio.sleep(max(0.0, session.expires - self._clock()))
            await self.end(session.id)

        session.expiry = asyncio.create_task(expire())


def _offers(offer: str, mime: str) -> bool:
    """Whether an offer names a codec (`audio/PCMU`) in its rtpmap lines."""
    name = mime.split("/")[1].lower()
    return any(line.lower().startswith("a=rtpmap:") and f" {name}/" in line.lower()
               for line in offer.splitlines())  # fmt: skip


async def _answer(
    connection: RTCPeerConnection,
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
    if sound is not None:
        audio, mime = sound
        speaker = connection.addTransceiver(audio, direction="sendonly")
        speaker.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                     if c.mimeType.lower() == mime.lower()])  # fmt: skip
    await connection.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    if not any(c.mimeType.lower() == "video/h264" for c in transceiver._codecs):
        return None
    adopt(connection, hosts)
    answer = await connection.createAnswer()
    await connection.setLocalDescription(answer)
    return str(connection.localDescription.sdp)


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
    async def offer(request: Request) -> Response:
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
        opened = await service.open(camera_id, _token(request), text)
        if isinstance(opened, Response):
            edge_metrics().webrtc_refusals.labels(str(opened.status_code)).inc()
            return opened
        return Response(
            opened.answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": whep_session_path(opened.id), "X-Audio": opened.audio},
        )

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
    if declared.isdigit() and int(declared) > MAX_OFFER_BYTES:
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
                          ice_servers=ice_servers(settings), hosts=hosts)  # fmt: skip
    port = settings.whep_port if port is None else port
    bound, stop = await serve_whep(service, host or settings.whep_host, port)
    return service, bound, stop
