"""A pull camera's sub-stream (`sub_source_url`), read by the edge itself: relayed for live
view, never recorded, so no recorder runs for it. The edge is the RTSP client:

    DESCRIBE   the camera's SDP (its tracks); a 401 is answered (Digest or Basic)
    SETUP      the video track (and audio WebRTC carries) over the connection (interleaved)
    PLAY       then the interleaved RTP goes to the stream's live feed
               (`sub_stream_id(camera)`), with a keep-alive (GET_PARAMETER) every half of
               the session's timeout

The edge that pulls the camera's main stream pulls its sub-stream too (one edge a camera,
`membership.pulled_by`), on the sub-stream's own lease, so that viewers' `webrtc_sub` URLs
name that edge. Each attempt checks the destination again (`pull_urls.check_pull_destination`)
and connects to the address it checked; a stream that ends is tried again after 1, 2, 4 ...
up to `pull_backoff_max_s` seconds.
"""

import asyncio
import logging
import re
import secrets
import ssl

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.digest import Credentials
from video_service.edge.errors import BadMessage, BadPullUrl
from video_service.edge.faults import Backoff
from video_service.edge.live_view.fanout import LiveFeed, LiveFeeds
from video_service.edge.live_view.tap import RELAYED_AUDIO, CameraTap, InterleavedReader
from video_service.edge.pull_urls import PullUrl, check_pull_destination
from video_service.edge.relay import INGESTED, RELAY_CHUNK
from video_service.edge.rtsp import MAX_HEAD, Message, read_message
from video_service.edge.sessions import Silence, forget_facts, tell_facts, unhurried
from video_service.edge.settings import EdgeSettings
from video_service.shared.streams import sub_stream_id

log = logging.getLogger(__name__)
ANSWER_S = 10.0  # for each answer of the camera's
IDLE_S = 30.0  # a camera that sends nothing for this long is gone
DEFAULT_SESSION_TIMEOUT_S = 60
USER_AGENT = "sparc-video-edge"
# A control URL is put on a request line: printable ASCII only, no spaces.
_CONTROL = re.compile(r"^[\x21-\x7e]{1,1024}$")
_TIMEOUT = re.compile(r";\s*timeout=([0-9]{1,6})")


class RtspClient:
    """One connection to a camera, asking one request at a time (until PLAY)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: PullUrl
    ) -> None:
        self.reader = reader
        self.writer = writer
        self._cseq = 0
        self.session: str | None = None
        self.session_timeout_s = DEFAULT_SESSION_TIMEOUT_S
        self._credentials = (
            Credentials(url.username, url.password or "") if url.username is not None else None
        )

    def request(self, method: str, url: str, *headers: tuple[str, str]) -> Message:
        self._cseq += 1
        found = [("CSeq", str(self._cseq)), ("User-Agent", USER_AGENT), *headers]
        if self.session is not None:
            found.append(("Session", self.session))
        if self._credentials is not None and self._credentials.ready:
            found.append(("Authorization", self._credentials.authorization(method, url)))
        return Message(f"{method} {url} RTSP/1.0", found)

    async def ask(self, method: str, url: str, *headers: tuple[str, str]) -> Message:
        """The camera's answer to the request; on a 401 with credentials to give, once more.
        Anything but 200 is BadMessage saying what the camera answered."""
        answer = await self._exchange(self.request(method, url, *headers))
        credentials = self._credentials
        challenges = answer.headers_named("WWW-Authenticate")
        if answer.status == 401 and credentials and credentials.accept_challenge(challenges):
            answer = await self._exchange(self.request(method, url, *headers))
        if answer.status != 200:
            raise BadMessage(f"the camera answered {method} with {answer.start_line[:80]!r}")
        return answer

    def send(self, message: Message) -> None:
        """A request whose answer is not waited for (a keep-alive: it comes between frames)."""
        self.writer.write(message.encode())

    async def _exchange(self, request: Message) -> Message:
        self.writer.write(request.encode())
        await asyncio.wait_for(self.writer.drain(), ANSWER_S)
        answer = await asyncio.wait_for(read_message(self.reader), ANSWER_S)
        if answer is None:
            raise ConnectionError("the camera closed the connection")
        return answer

    def note_session(self, answer: Message) -> None:
        """The session a SETUP answer gives, and how long it lasts without a request."""
        found = answer.header("Session")
        if found is None or not _CONTROL.match(found.replace(" ", "")):
            raise BadMessage("the camera's SETUP answer names no session")
        self.session = found.split(";")[0].strip()
        timeout = _TIMEOUT.search(found)
        if timeout is not None:
            self.session_timeout_s = max(10, int(timeout.group(1)))


def control_url(base: str, control: str) -> str:
    """Where a track's SETUP goes: its control URL, absolute or relative to the base."""
    if control in ("", "*"):
        url = base
    elif control.lower().startswith(("rtsp://", "rtsps://")):
        url = control
    else:
        url = base.rstrip("/") + "/" + control
    if not _CONTROL.match(url):
        raise BadMessage("the camera's SDP names a control URL that cannot be sent")
    return url


async def play(client: RtspClient, url: PullUrl, feed: LiveFeed) -> CameraTap:
    """DESCRIBE, SETUP the tracks the feed can use, PLAY: the tap that reads what follows."""
    target = url.public()
    described = await client.ask("DESCRIBE", target, ("Accept", "application/sdp"))
    base = described.header("Content-Base") or described.header("Content-Location") or target
    tap = CameraTap(described.body.decode(errors="replace"), feed)
    tracks = [tap.track] if tap.track is not None else []
    if tap.audio is not None and tap.audio.codec in RELAYED_AUDIO:
        tracks.append(tap.audio)
    if not tracks:
        raise BadMessage("the camera's sub-stream has no video track")
    for index, track in enumerate(tracks):
        setup_url = control_url(base, track.control)
        transport = f"RTP/AVP/TCP;unicast;interleaved={2 * index}-{2 * index + 1}"
        answer = await client.ask("SETUP", setup_url, ("Transport", transport))
        if client.session is None:
            client.note_session(answer)
        tap.note_setup(client.request("SETUP", setup_url, ("Transport", transport)))
    await client.ask("PLAY", control_url(base, "*"), ("Range", "npt=0.000-"))
    return tap


async def read_frames(client: RtspClient, base: str, tap: CameraTap) -> None:
    """The interleaved frames into the feed until the camera stops sending; a keep-alive
    every half of the session's timeout (its answers come between the frames)."""
    frames = InterleavedReader(lambda _answer: None)
    loop = asyncio.get_running_loop()
    keep_alive_s = client.session_timeout_s / 2
    last_sent = loop.time()
    async with Silence(IDLE_S) as silence:
        while chunk := await client.reader.read(RELAY_CHUNK):
            silence.heard()
            INGESTED.add(len(chunk))
            tap.read_or_end(frames, chunk)
            if loop.time() - last_sent > keep_alive_s:
                client.send(client.request("GET_PARAMETER", base))
                last_sent = loop.time()
            await unhurried(tap.feed)


class SubStreamPuller:
    """The sub-streams of the pull cameras this edge pulls: one `run` each."""

    def __init__(
        self, settings: EdgeSettings, leases: CameraLeases, feeds: LiveFeeds, edge: str
    ) -> None:
        self._settings = settings
        self._leases = leases
        self._feeds = feeds
        self._edge = edge
        self.live: set[str] = set()  # cameras whose sub-stream plays here now

    async def run(self, camera_id: str, url: PullUrl) -> None:
        """Pull the camera's sub-stream until cancelled; again after a growing wait."""
        backoff = Backoff(self._settings.pull_backoff_max_s)
        while True:
            try:
                played = await self._pull_once(camera_id, url)
                why = "stream ended"
            except BadPullUrl as refused:
                played, why = False, f"refused: {refused}"
            except (OSError, TimeoutError, BadMessage) as error:  # ssl.SSLError is an OSError
                played, why = False, f"{type(error).__name__}: {error}"
            except Exception as error:  # a camera's answer no rule foresaw: try again later
                log.exception("camera %s: its pulled sub-stream failed", camera_id)
                played, why = False, f"{type(error).__name__}: {error}"
            log.info("camera %s: its pulled sub-stream stopped: %s", camera_id, why)
            await backoff.wait(played)

    async def _pull_once(self, camera_id: str, url: PullUrl) -> bool:
        """Relay the sub-stream until it ends; whether it played at all."""
        settings = self._settings
        addresses = await asyncio.to_thread(check_pull_destination, url, settings)
        stream_id = sub_stream_id(camera_id)
        context = ssl.create_default_context() if url.scheme == "rtsps" else None
        hostname = url.host if context else None
        opening = asyncio.open_connection(addresses[0], url.port, ssl=context, limit=MAX_HEAD,
                                          server_hostname=hostname)  # fmt: skip
        reader, writer = await asyncio.wait_for(opening, ANSWER_S)
        feed = self._feeds.open(stream_id)
        session = secrets.token_hex(8)
        holding: asyncio.Task[None] | None = None
        played = False
        try:
            owned = await self._leases.take(stream_id)
            if owned is not None:
                if not self._leases.keep(owned):
                    return False
                cut_off = writer.transport.abort
                holding = asyncio.create_task(self._leases.hold(owned, cut_off))
            client = RtspClient(reader, writer, url)
            tap = await play(client, url, feed)
            played = True
            self.live.add(camera_id)
            await tell_facts(self._leases, stream_id, tap, self._edge, session)
            await read_frames(client, url.public(), tap)
        finally:
            self.live.discard(camera_id)
            writer.transport.abort()
            if holding is not None:
                holding.cancel()
                await asyncio.gather(holding, return_exceptions=True)
            await self._leases.release(stream_id)
            await forget_facts(self._leases, stream_id, session)
            self._feeds.close(feed)
        return played
