"""Live view's video and sound go by one broadcast per feed
(video_service/edge/live_view/broadcast.py). Its packets are the bytes aiortc's own sender
would write, and a NACK is answered with the same bytes again; aiortc viewers on loopback
decode the camera's frames through it, one joining late and one leaving slowing no one, the
camera's G.711 heard by the viewer that asked for sound only; the last session's end takes
the broadcast out of the feed; the answer asks for no bandwidth estimates."""

import asyncio
import itertools
import math
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import pytest
from aioice.ice import StunProtocol
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.codecs.h264 import H264Encoder
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import (
    RtcpByePacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
)
from av import AudioFrame, VideoFrame
from pylibsrtp import Error, Policy, Session

from cdn.signing import OriginSigner, StreamGrant
from video_service.edge.errors import LiveViewRefused
from video_service.edge.live_view.broadcast import (
    Broadcast,
    Broadcasts,
    Clock,
    SenderUnsupported,
    _protector,
    _Target,
)
from video_service.edge.live_view.fanout import LiveFeed, LiveFeeds
from video_service.edge.live_view.h264 import AccessUnit
from video_service.edge.live_view.ice import HostPlan
from video_service.edge.live_view.whep import WhepService, WhepSession
from workers.base.layout import whep_path

CAMERA = "c0ffee" + "0" * 26
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class _Unprotected:
    """SRTP that leaves the packet as it is, so that the bytes can be compared."""

    def protect(self, data: bytes) -> bytes:
        return data

    def protect_rtcp(self, data: bytes) -> bytes:
        return data


async def _sender(extensions: list[str]) -> Any:
    """A real aiortc sender, as its connection would have configured it for sending."""
    connection = RTCPeerConnection()
    sender = connection.addTransceiver("video", direction="sendonly").sender
    headers = [RTCRtpHeaderExtensionParameters(id=n + 1, uri=uri)
               for n, uri in enumerate(extensions)]  # fmt: skip
    sender._RTCRtpSender__rtp_header_extensions_map.configure(
        RTCRtpSendParameters(headerExtensions=headers)
    )
    sender._RTCRtpSender__mid = "0"
    sender.transport._state = State.CONNECTED
    sender.transport._tx_srtp = _Unprotected()
    sender._connection = connection  # kept open until the test closes it
    return sender


@pytest.mark.parametrize("extensions", [[MID, ABS_SEND_TIME], [MID], []])
def test_a_viewers_packets_are_the_bytes_aiortc_would_send_and_a_nack_gets_them_again(
    extensions: list[str],
) -> None:
    async def check() -> None:
        sender = await _sender(extensions)
        target = _Target(sender, 102)
        sent: list[bytes] = []

        async def capture(data: bytes) -> None:
            sent.append(data)

        sender.transport._send_rtp = capture
        # An IDR cut in three (FU-A) and a small slice: four packets a frame.
        payloads = H264Encoder._packetize([b"\x65" + bytes(range(256)) * 12, b"\x41\x9a" * 10])
        count = len(payloads)
        first = target.sequence
        written: dict[int, bytes] = {}
        for frame in range(3):
            packets = target.packets(payloads, 1_000_000 + 3600 * frame, Clock.now())
            target._report_due = math.inf  # no sender report among them, however slow
            assert len(packets) == count == 4
            for index, data in enumerate(packets):
                sequence = (first + frame * count + index) & 0xFFFF
                kept = target._history.get(sequence % 128)
                assert kept.sequence_number == sequence
                expected = RtpPacket(102, int(index == count - 1), sequence, kept.timestamp,
                                     sender._ssrc, payloads[index])  # fmt: skip
                if MID in extensions:
                    expected.extensions.mid = "0"
                if ABS_SEND_TIME in extensions:
                    expected.extensions.abs_send_time = kept.extensions.abs_send_time
                map_ = sender._RTCRtpSender__rtp_header_extensions_map
                assert data == expected.serialize(map_)
                assert data == kept.serialize(map_)
                written[sequence] = data
            assert {RtpPacket.parse(p).timestamp for p in packets} == {
                (target.origin + 3600 * frame) & 0xFFFFFFFF
            }
        # A NACK: aiortc's own sender answers it from the history the broadcast keeps.
        lost = (first + 4) & 0xFFFF
        await sender._retransmit(lost)
        assert sent == [written[lost]]
        target.hand_over_counts()  # as its reports and its end do
        assert sender._RTCRtpSender__packet_count == 3 * count
        assert sender._RTCRtpSender__octet_count == 3 * sum(map(len, payloads))
        await sender._connection.close()

    asyncio.run(check())


def test_a_viewers_history_answers_a_nack_for_each_of_its_last_128_packets_only() -> None:
    """Kept a frame at a time: frames of 1 to 7 packets, 300 packets in all, across the
    sequence numbers' wrap, then a keyframe of 300; each of the last 128 is answered with its
    own bytes, an older one not (aiortc checks the sequence number of what `get` answers)."""

    async def check() -> None:
        sender = await _sender([MID])
        target = _Target(sender, 102)
        target.sequence = 0xFFFF - 150
        sent: dict[int, bytes] = {}
        for n in itertools.count():
            payloads = [bytes([n % 256, i]) * 50 for i in range(n % 7 + 1)]
            first = target.sequence
            for index, data in enumerate(target.packets(payloads, 3600 * n, Clock.now())):
                sent[(first + index) & 0xFFFF] = data
            target._report_due = math.inf  # no sender report among them, however slow
            if len(sent) >= 300:
                break
        aiortc_map = sender._RTCRtpSender__rtp_header_extensions_map

        def answered_are_the_last_128(order: list[int]) -> None:
            for sequence in order[-128:]:
                kept = target._history.get(sequence % 128)
                assert kept.sequence_number == sequence
                assert kept.serialize(aiortc_map) == sent[sequence]
            for sequence in order[:-128]:
                kept = target._history.get(sequence % 128)
                assert kept is None or kept.sequence_number != sequence

        answered_are_the_last_128(list(sent))
        first, keyframe = target.sequence, [bytes([i % 256]) * 40 for i in range(300)]
        for index, data in enumerate(target.packets(keyframe, 3600 * 1000, Clock.now())):
            sent[(first + index) & 0xFFFF] = data
        answered_are_the_last_128(list(sent))
        await sender._connection.close()

    asyncio.run(check())


@pytest.mark.parametrize(
    ("profile", "key_length"),
    [(Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30), (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28)],
)
def test_srtp_without_pylibsrtps_per_packet_steps_writes_what_its_session_writes(
    profile: int, key_length: int
) -> None:
    """The broadcast calls libsrtp as pylibsrtp's `Session.protect` does, without its
    allocations: the same bytes, which the viewer's session unprotects; a packet too long for
    the session's buffer gets pylibsrtp's own error."""
    key = bytes(range(key_length))

    def session(direction: int) -> Session:
        return Session(policy=Policy(key=key, ssrc_type=direction, srtp_profile=profile))

    theirs, ours = session(Policy.SSRC_ANY_OUTBOUND), session(Policy.SSRC_ANY_OUTBOUND)
    viewer = session(Policy.SSRC_ANY_INBOUND)
    protect = _protector(ours)
    assert protect != ours.protect  # libsrtp's, not pylibsrtp's call
    for sequence in range(200):
        payload = bytes([sequence % 256]) * (sequence * 7 % 1200)
        packet = RtpPacket(102, sequence % 2, (65500 + sequence) & 0xFFFF,
                           sequence * 3600, 1234, payload).serialize()  # fmt: skip
        protected = protect(packet)
        assert protected == theirs.protect(packet)
        assert viewer.unprotect(protected) == packet
    room = 1500 - 144  # pylibsrtp's buffer, less its largest trailer
    assert viewer.unprotect(protect(b"\x80" + bytes(room - 1))) == b"\x80" + bytes(room - 1)
    with pytest.raises(ValueError, match="too long"):
        protect(b"\x80" + bytes(room))
    # libsrtp's refusal (a stream of another source only): pylibsrtp's error, its words
    other = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_SPECIFIC, ssrc_value=99,
                                  srtp_profile=profile))  # fmt: skip
    with pytest.raises(Error, match="no appropriate context"):
        _protector(other)(packet)
    assert _protector(_Unprotected())(b"as it is") == b"as it is"


def test_a_viewers_sender_reports_go_with_its_frames_as_aiortc_would_write_them() -> None:
    """A report 0.5 to 1.5 s after the viewer's first packet, and after the last report, goes
    after a frame's packets: aiortc's SR and SDES bytes, the last packet's times, the counts
    so far; aiortc reads the round trip from the viewer's receiver report on it. The
    sender's RTCP loop, stopped, says goodbye (BYE) as aiortc's does."""

    async def check() -> None:
        sender = await _sender([MID])
        sender._RTCRtpSender__cname = "edge-1"
        target = _Target(sender, 102)
        payloads = H264Encoder._packetize([b"\x65" + b"\x01" * 3000])
        start = Clock.now()
        frames = []
        for n in range(40):  # 1.6 s of frames at 25 a second
            wall = start.wall + n * 0.04
            clock = Clock(wall, int((wall + 2_208_988_800) * (1 << 32)), 0, n * 0.04)
            frames.append((clock, target.packets(payloads, 3600 * n, clock)))
        reports = [(n, clock, out[-1]) for n, (clock, out) in enumerate(frames)
                   if len(out) > len(payloads)]  # fmt: skip
        assert reports, "no sender report in 1.6 s"
        times = [0] + [n for n, _, _ in reports]
        assert all(0.5 <= (b - a) * 0.04 <= 1.5 + 0.04 for a, b in itertools.pairwise(times))
        n, clock, report = reports[0]
        expected = bytes(RtcpSrPacket(ssrc=sender._ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=clock.ntp, rtp_timestamp=(target.origin + 3600 * n) & 0xFFFFFFFF,
            packet_count=(n + 1) * len(payloads), octet_count=(n + 1) * sum(map(len, payloads)),
        ))) + bytes(RtcpSdesPacket(chunks=[
            RtcpSourceInfo(ssrc=sender._ssrc, items=[(1, b"edge-1")])
        ]))  # fmt: skip
        assert report == expected
        lsr = (reports[-1][1].ntp >> 16) & 0xFFFFFFFF  # the last report's
        answer = RtcpRrPacket(ssrc=1, reports=[RtcpReceiverInfo(
            ssrc=sender._ssrc, fraction_lost=0, packets_lost=0, highest_sequence=0, jitter=0,
            lsr=lsr, dlsr=0x8000,
        )])  # fmt: skip
        await sender._handle_rtcp_packet(answer)
        assert sender._RTCRtpSender__rtt is not None

        sent: list[bytes] = []

        async def capture(data: bytes) -> None:
            sent.append(data)

        sender.transport._send_rtp = capture
        broadcast = Broadcast(LiveFeed(CAMERA))
        broadcast.take_over(sender)
        assert "Broadcast" in sender._run_rtcp.__qualname__  # not aiortc's timed loop
        loop = asyncio.create_task(sender._run_rtcp())
        await asyncio.sleep(0)
        assert sender._RTCRtpSender__rtcp_started.is_set()
        loop.cancel()
        await asyncio.wait_for(loop, 5)
        assert sent == [bytes(RtcpByePacket(sources=[sender._ssrc]))]
        assert sender._RTCRtpSender__rtcp_exited.is_set()
        broadcast.close()
        await sender._connection.close()

    asyncio.run(check())


def test_a_sender_whose_private_state_is_not_there_is_refused() -> None:
    async def check() -> None:
        feed = LiveFeed(CAMERA)
        broadcast = Broadcast(feed)
        sender = await _sender([MID])
        del sender._RTCRtpSender__rtp_history
        with pytest.raises(SenderUnsupported, match="rtp_history"):
            broadcast.take_over(sender)
        other = await _sender([MID])
        ice = other.transport.transport
        connection = ice._connection
        del ice._connection  # an aiortc whose ICE transport keeps aioice's elsewhere
        with pytest.raises(SenderUnsupported, match=r"ice\._connection"):
            broadcast.take_over(other)
        ice._connection = connection
        broadcast.close()
        await other._connection.close()
        await sender._connection.close()

    asyncio.run(check())


def test_a_stream_that_cannot_be_sent_ends_its_session_and_lets_its_sender_stop() -> None:
    """A header extension aiortc's packer refuses (an id past 255): the sender's RTP ends at
    once, its track stops (its session ends) and aiortc's `stop` does not wait forever."""

    async def check() -> None:
        feed = LiveFeed(CAMERA)
        broadcast = Broadcast(feed)
        sender = await _sender([])
        past = [RTCRtpHeaderExtensionParameters(id=300, uri=MID)]
        sender._RTCRtpSender__rtp_header_extensions_map.configure(
            RTCRtpSendParameters(headerExtensions=past)
        )
        track = VideoStreamTrack()
        sender.replaceTrack(track)
        broadcast.take_over(sender)
        codec = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
        await asyncio.wait_for(sender._run_rtp(codec), 5)
        assert sender._RTCRtpSender__rtp_exited.is_set() and track.readyState == "ended"
        broadcast.close()
        assert not feed.viewers
        await sender._connection.close()

    asyncio.run(check())


class _Socket:
    """An asyncio selector transport's own socket."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False
        self.fault: OSError | None = None  # what its next sendto raises

    def sendto(self, data: bytes, address: object) -> None:
        assert not self.closed, "written to a closed socket"
        if self.fault is not None:
            fault, self.fault = self.fault, None
            raise fault
        self.sent.append(data)


class _Transport:
    """asyncio's selector datagram transport, as far as the broadcast reads it: its socket,
    whether it is closing (aioice closes it before the DTLS transport hears of it)."""

    def __init__(self, socket: _Socket) -> None:
        self._sock = socket
        self.closing = False

    def sendto(self, data: bytes, address: object) -> None:
        raise AssertionError("the broadcast writes the transport's socket")

    def is_closing(self) -> bool:
        return self.closing


class _TurnTransport:
    """aioice's TURN relay transport: no socket of its own, no is_closing."""

    def sendto(self, data: bytes, address: object) -> None:
        raise AssertionError("a TURN pair goes by aiortc's path")


def _pair(transport: object) -> SimpleNamespace:
    pair = SimpleNamespace(protocol=StunProtocol(None), remote_addr=("127.0.0.1", 9))
    pair.protocol.transport = transport
    return pair


def test_a_viewers_writes_follow_ices_pair_and_stop_at_a_closed_socket() -> None:
    """The socket found once is written while ICE keeps its pair open; once aioice closes it
    (before the DTLS transport hears of it) or nominates another pair, the write follows. A
    TURN pair (no socket of its own) goes by aiortc's path."""

    async def check() -> None:
        sender = await _sender([MID])
        first, second = _Socket(), _Socket()
        pairs = [_pair(_Transport(first)), _pair(_Transport(second))]
        nominated = sender.transport.transport._connection._nominated
        nominated[1] = pairs[0]
        target = _Target(sender, 102)
        assert target.write([b"a"]) and first.sent == [b"a"]
        pairs[0].protocol.transport.closing = first.closed = True  # aioice closed it
        assert not target.write([b"b"])  # to aiortc's path, which ends the viewer
        nominated[1] = _pair(_TurnTransport())
        assert not target.write([b"b"])
        nominated[1] = pairs[1]
        assert target.write([b"c"]) and second.sent == [b"c"]
        # A full socket (EAGAIN): the rest of the frame is lost to this viewer, as on a full
        # network; any other error is logged: the next frame is written as before.
        second.fault = BlockingIOError()
        assert target.write([b"d", b"e"]) and second.sent == [b"c"]
        second.fault = OSError(101, "Network is unreachable")
        assert target.write([b"f"]) and target.write([b"g"]) and second.sent == [b"c", b"g"]
        del nominated[1]
        assert not target.write([b"h"]) and second.sent == [b"c", b"g"]
        await sender._connection.close()

    asyncio.run(check())


def test_a_viewer_whose_sending_waits_slows_no_other_and_a_refused_feed_gets_none() -> None:
    """One viewer's path waits a second for each send (as a path that is not a plain UDP
    pair may): the other viewer gets every frame at once; the first is sent what it can take.
    A feed refused after its broadcast started is refused to a new viewer (409)."""

    async def check() -> None:
        feed = LiveFeed(CAMERA)
        broadcast = Broadcast(feed)
        slow, quick = await _sender([MID]), await _sender([MID])
        waits = 0

        async def waiting(data: bytes) -> None:
            nonlocal waits
            waits += 1
            await asyncio.sleep(1)

        slow.transport.transport._connection._nominated = {}  # no plain UDP pair
        slow.transport.transport._send = waiting
        socket = _Socket()
        quick.transport.transport._connection._nominated = {1: _pair(_Transport(socket))}
        codec = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
        running = []
        for sender in (slow, quick):
            sender.replaceTrack(VideoStreamTrack())
            broadcast.take_over(sender)
            running.append(asyncio.create_task(sender._run_rtp(codec)))
        await asyncio.sleep(0)
        frame = AccessUnit(0, (b"\x65" + b"\x01" * 100,), True, False)
        started = time.monotonic()
        for n in range(10):
            feed.publish(frame._replace(timestamp=n * 3600, keyframe=n == 0))
            await asyncio.sleep(0.01)
        await _until(lambda: len(socket.sent) == 10, 2, "the quick viewer's ten frames")
        assert time.monotonic() - started < 0.8, "the quick viewer waited for the slow one"
        assert waits == 1  # the slow one: its first send, still waiting; the others left out

        with pytest.raises(LiveViewRefused, match="B-frames"):
            broadcasts = Broadcasts()
            broadcasts.hold(feed)
            feed.refuse("B-frames")
            broadcasts.hold(feed)
        broadcast.close()
        await asyncio.gather(*running)
        for sender in (slow, quick):
            await sender._connection.close()

    asyncio.run(check())


def _units(work: Path) -> list[AccessUnit]:
    """Two seconds of 640x360 H.264 (a keyframe a second, no B-frames) as access units."""
    clip = work / "clip.h264"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    units = []
    with av.open(str(clip)) as container:
        for n, packet in enumerate(container.demux(video=0)):
            if packet.size:
                nals = tuple(H264Encoder._split_bitstream(bytes(packet)))
                units.append(AccessUnit(n * 3600, nals, packet.is_keyframe, False))
    return units


class _Watcher:
    """An aiortc viewer of the service's camera, counting the frames it decodes (and the
    sound, where it asks for it)."""

    def __init__(self, sound: bool = False, sound_first: bool = False) -> None:
        self.connection = RTCPeerConnection()
        kinds = ["audio", "video"] if sound_first else ["video", "audio"] if sound else ["video"]
        for kind in kinds:  # the offer's m-lines in this order (BUNDLE takes the first's)
            self.connection.addTransceiver(kind, direction="recvonly")
        self.sizes: list[tuple[int, int]] = []
        self.heard = 0  # sound frames decoded
        self.session: WhepSession | None = None
        self.answer = ""

        async def read(track: Any) -> None:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.sizes.append((frame.width, frame.height))
                elif isinstance(frame, AudioFrame):
                    self.heard += 1

        self.connection.on("track", lambda track: asyncio.ensure_future(read(track)))

    async def watch(self, service: WhepService, token: str) -> None:
        await self.connection.setLocalDescription(await self.connection.createOffer())
        opened = await service.open(CAMERA, token, self.connection.localDescription.sdp)
        assert isinstance(opened, WhepSession), getattr(opened, "body", opened)
        self.session, self.answer = opened, opened.answer
        await self.connection.setRemoteDescription(RTCSessionDescription(opened.answer, "answer"))


def _loopback_service(feeds: LiveFeeds, max_viewers: int) -> tuple[WhepService, str]:
    """The edge's WHEP service on loopback, and a token for CAMERA."""
    signer = OriginSigner("a secret")
    token = signer.token(StreamGrant(whep_path(CAMERA), int(time.time()) + 60))
    hosts = HostPlan(addresses=("127.0.0.1",))
    return WhepService(feeds, signer, max_viewers=max_viewers, hosts=hosts), token


def _publishing(
    feed: LiveFeed, units: list[AccessUnit], sound: bool = False
) -> "asyncio.Task[None]":
    """`units` published to `feed` over and over, 25 frames a second (with `sound`, 20 ms of
    G.711 after each half of one), until the task is cancelled."""

    async def camera() -> None:
        n = 0
        while True:
            feed.publish(units[n % len(units)]._replace(timestamp=n * 3600))
            for half in range(2 if sound else 0):
                feed.publish_audio((2 * n + half) * 160, b"\xff" * 160)
            n += 1
            await asyncio.sleep(0.04)

    return asyncio.create_task(camera())


async def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        await asyncio.sleep(0.02)


def test_viewers_decode_the_feed_through_one_broadcast_that_leaves_with_the_last(
    tmp_path: Path,
) -> None:
    units = _units(tmp_path)

    async def check() -> None:
        feeds = LiveFeeds()
        feed = feeds.open(CAMERA)
        feed.audio_codec = ("audio/PCMU", 8000)  # G.711, as the camera's tap names it
        service, token = _loopback_service(feeds, max_viewers=8)
        playing = _publishing(feed, units, sound=True)
        first, second, late = _Watcher(sound=True), _Watcher(), _Watcher()
        try:
            await first.watch(service, token)
            await second.watch(service, token)
            assert "goog-remb" not in first.answer and "abs-send-time" not in first.answer
            assert "nack pli" in first.answer
            await _until(lambda: len(first.sizes) >= 10 and len(second.sizes) >= 10, 20,
                         "both viewers' frames")  # fmt: skip
            assert set(first.sizes) == set(second.sizes) == {(640, 360)}
            assert first.session is not None and first.session.audio == "audio/PCMU"
            await _until(lambda: first.heard >= 10, 10, "the sound")
            assert second.heard == 0  # it did not ask for sound
            assert len(feed.viewers) == 1  # the one broadcast, for both

            await late.watch(service, token)  # mid-stream: it starts on a keyframe
            assert first.session is not None and second.session is not None
            await service.end(first.session.id)
            seen = len(second.sizes)
            await _until(lambda: len(late.sizes) >= 10 and len(second.sizes) >= seen + 10, 20,
                         "the others' frames after one left")  # fmt: skip
            assert set(late.sizes) == {(640, 360)}

            assert late.session is not None
            await service.end(second.session.id)
            await service.end(late.session.id)
            assert not feed.viewers and not feed.watched  # the broadcast left with them
        finally:
            playing.cancel()
            await service.close()
            for watcher in (first, second, late):
                await watcher.connection.close()

    asyncio.run(check())
