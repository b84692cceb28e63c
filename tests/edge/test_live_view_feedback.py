"""A viewer's RTCP (video_service/edge/live_view/feedback.py): receiver reports, source
descriptions and bitrate estimates end where aioice hands them over; a NACK, a picture-loss
request or a BYE reaches aiortc's handling unprotected, whatever rides with it; DTLS and RTP
take aiortc's path untouched; a forged or replayed report reaches no one."""

import asyncio
import logging
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from aioice import stun
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import State
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSourceInfo,
    RtpPacket,
    pack_remb_fci,
)
from pylibsrtp import Policy, Session

from tests.edge.test_live_view_broadcast import (
    CAMERA,
    _loopback_service,
    _publishing,
    _units,
    _until,
    _Watcher,
)
from video_service.edge.live_view.fanout import LiveFeeds
from video_service.edge.live_view.feedback import LONGEST, only_reports, read_feedback_here
from video_service.edge.live_view.h264 import AccessUnit
from video_service.edge.live_view.ice import MOST_STUN_ATTRIBUTES, _plain
from video_service.edge.live_view.whep import WhepService, WhepSession

KEY = bytes(range(30))
REPORT = bytes(RtcpRrPacket(ssrc=7, reports=[RtcpReceiverInfo(
    ssrc=1234, fraction_lost=0, packets_lost=0, highest_sequence=99, jitter=3, lsr=0, dlsr=0,
)]))  # fmt: skip
NAME = bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=7, items=[(1, b"viewer")])]))
ESTIMATE = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=7, media_ssrc=0,
                                fci=pack_remb_fci(500_000, [1234])))  # fmt: skip
NACK = bytes(RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=7, media_ssrc=1234, lost=[98]))
PICTURE_LOST = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=7, media_ssrc=1234))
BYE = bytes(RtcpByePacket(sources=[7]))


@pytest.mark.parametrize(
    ("compound", "reports_only"),
    [
        (REPORT, True),
        (REPORT + NAME, True),
        (REPORT + NAME + ESTIMATE, True),
        (REPORT + NACK, False),
        (REPORT + NAME + PICTURE_LOST, False),
        (REPORT + BYE, False),
        (NACK, False),
        (b"", False),
        (REPORT[:-4], False),  # its length says more than there is
        (REPORT + b"\x00\x00\x00\x00", False),  # a version-0 packet after it
        (b"\x40" + REPORT[1:], False),  # version 1
    ],
)
def test_a_compound_of_reports_descriptions_and_estimates_only_is_told_from_the_rest(
    compound: bytes, reports_only: bool
) -> None:
    assert only_reports(compound) is reports_only


def test_a_viewers_reports_end_where_aioice_hands_them_over_and_the_rest_reach_aiortc() -> None:
    async def check() -> None:
        connection = RTCPeerConnection()
        dtls: Any = connection.addTransceiver("video", direction="sendonly").sender.transport
        ice = dtls.transport._connection
        handled: list[bytes] = []

        async def handle(data: bytes) -> None:
            handled.append(data)

        dtls._handle_rtcp_data = handle
        viewer = Session(policy=Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        read_feedback_here(dtls)
        read_feedback_here(dtls)  # the sound's sender, on the same transport: once

        # before the keys: aioice's queue, as before (aiortc drops what it cannot read)
        early = viewer.protect_rtcp(REPORT)
        ice.data_received(early, 1)
        assert ice._queue.get_nowait() == (early, 1)

        dtls._rx_srtp = Session(policy=Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_INBOUND))
        dtls._state = State.CONNECTED  # the handshake done
        for compound in (REPORT, REPORT + NAME, REPORT + NAME + ESTIMATE):
            ice.data_received(viewer.protect_rtcp(compound), 1)
        for compound in (REPORT + NACK, PICTURE_LOST, REPORT + BYE):
            ice.data_received(viewer.protect_rtcp(compound), 1)
        await asyncio.sleep(0)  # the handling tasks run
        assert handled == [REPORT + NACK, PICTURE_LOST, REPORT + BYE]
        assert [type(p) for p in RtcpPacket.parse(handled[0])] == [RtcpRrPacket, RtcpRtpfbPacket]
        assert ice._queue.empty()

        # forged, or the same packet again: no one hears it
        protected = bytearray(viewer.protect_rtcp(REPORT + NACK))
        ice.data_received(bytes(protected), 1)
        ice.data_received(bytes(protected), 1)
        protected[10] ^= 0xFF
        ice.data_received(bytes(protected), 1)
        await asyncio.sleep(0)
        assert handled == [REPORT + NACK, PICTURE_LOST, REPORT + BYE, REPORT + NACK]

        ice.data_received(b"", 1)  # nothing in it: no one hears it
        ice.data_received(b"\x80\xc9" + bytes(LONGEST), 1)  # longer than pylibsrtp takes
        ice.data_received(b"\x80\x60" + bytes(LONGEST), 1)
        assert ice._queue.empty()

        dtls._state = State.CLOSED  # closing: a NACK has nothing to answer with
        ice.data_received(viewer.protect_rtcp(REPORT + NACK), 1)
        await asyncio.sleep(0)
        assert len(handled) == 4
        dtls._state = State.CONNECTED

        # DTLS records and RTP: aiortc's path, untouched
        record = b"\x17\xfe\xfd" + bytes(20)
        rtp = RtpPacket(payload_type=96, sequence_number=1, ssrc=7).serialize()
        for data in (record, rtp):
            ice.data_received(data, 1)
            assert ice._queue.get_nowait() == (data, 1)
        await connection.close()

    asyncio.run(check())


def _camera_on_loopback(
    units: list[AccessUnit], max_viewers: int
) -> tuple[WhepService, str, "asyncio.Task[None]"]:
    """The edge's WHEP service on loopback (and a token), its camera publishing `units`
    until the task returned is cancelled."""
    feeds = LiveFeeds()
    playing = _publishing(feeds.open(CAMERA), units)
    return (*_loopback_service(feeds, max_viewers), playing)


def _stun(attribute: int, value: bytes, method: int = 0x0001) -> bytes:
    """A STUN message (a Binding request) with one attribute, its length as given."""
    body = struct.pack("!HH", attribute, len(value)) + value + bytes(-len(value) % 4)
    return struct.pack("!HHI12s", method, len(body), 0x2112A442, bytes(12)) + body


def _fingerprints(size: int) -> bytes:
    """A STUN indication of FINGERPRINT attributes, each right for the bytes before it:
    aioice's parser computes each one's CRC over all of them (its cost the square of the
    size)."""
    count = (size - 20) // 8
    data = struct.pack("!HHI12s", 0x0011, count * 8, 0x2112A442, bytes(12))
    for _ in range(count):
        data += struct.pack("!HHI", 0x8028, 4, stun.message_fingerprint(data))
    return data


# What anyone who reaches a viewer's UDP port may send it, none of which may end the viewer
# or fill the edge's log: each is dropped (or, a STUN request, answered with an error).
STRANGERS = [
    b"",  # aiortc's DTLS task read its first byte
    b"\x80\x60" + bytes(2000),  # "RTP", longer than pylibsrtp takes
    b"\x80\xc9" + bytes(2000),  # "RTCP", likewise
    _stun(0x0024, b"\x00\x01"),  # a PRIORITY of 2 bytes: aioice's parser raised struct.error
    _stun(0x8029, b"\x00" * 3),  # an ICE-CONTROLLED of 3 bytes, likewise
    _stun(0x0006, b"\xff\xfe"),  # a USERNAME that is not UTF-8
    _stun(0x0006, b"user:name"),  # a request without MESSAGE-INTEGRITY
    _stun(0x0024, bytes(4), method=0x0101),  # a response to no request of its
    b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x01\x00",  # a DTLS close_notify, epoch 0, plain
    b"\x16\xfe\xfd" + bytes(8) + b"\x00\x04\x01\x00\x00\x00",  # a DTLS handshake, cut
    b"\x90\x60" + bytes(100),  # "SRTP" that authenticates as nothing
    b"\x80\xc8" + bytes(60),  # "SRTCP", likewise
    b"\x00\x01\x00",  # a STUN header cut short
    bytes(range(256)) * 4,
    b"\x00\x01\x00\x00" + bytes(16),  # a STUN request without the magic cookie
    _stun(0x0024, bytes(4)) + bytes(1500),  # STUN longer than a datagram WebRTC sends
    _fingerprints(540),  # within the length: parsed, 66 checks over the bytes before each
]
# Before the handshake ends, aiortc's DTLS took each of these as the viewer's and failed the
# handshake: one ended the session (the edge is the DTLS client).
ENDERS = [
    b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x02\x28",  # a fatal alert, epoch 0
    b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x01\x00",  # a close_notify, epoch 0
    b"\x17\xfe\xfd" + bytes(8) + b"\x00\x05hello",  # application data, epoch 0
    b"\x1e\xfe\xfd" + bytes(8) + b"\x00\x01\x00",  # a content type of no one's
]


@pytest.mark.parametrize("sound_first", [False, True])
def test_a_viewer_outlives_what_strangers_send_its_port_and_its_reports_stop_at_the_edge(
    tmp_path: Path, sound_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """An aiortc viewer through the edge's WHEP service: its receiver reports (one a second)
    never reach the edge's sender (no round-trip statistics kept); what a stranger sends the
    edge's port (`STRANGERS`: an empty datagram, which aiortc's DTLS task could not read,
    ones too long for pylibsrtp, STUN messages aioice's parser cannot read, plain DTLS
    records, SRTP of no one's keys) is dropped, logging no error: the viewer keeps its
    pictures. With its offer's sound first too (BUNDLE then gives the video the sound's
    transport)."""
    caplog.set_level(logging.WARNING)
    units = _units(tmp_path)

    async def check() -> None:
        service, token, playing = _camera_on_loopback(units, max_viewers=2)
        watcher = _Watcher(sound_first=sound_first)
        try:
            await watcher.watch(service, token)
            await _until(lambda: len(watcher.sizes) >= 50, 20, "two seconds of frames")
            assert watcher.session is not None
            connection = watcher.session.connection
            sender = next(s for s in connection.getSenders() if s.kind == "video")
            kept = sender._RTCRtpSender__stats
            assert not [s for s in kept.values() if s.type == "remote-inbound-rtp"]

            viewer_ice = watcher.connection.getTransceivers()[0].receiver.transport.transport
            edge_address = viewer_ice._connection._nominated[1].remote_addr
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
                for datagram in STRANGERS:
                    stranger.sendto(datagram, edge_address)
            seen = len(watcher.sizes)
            await _until(lambda: len(watcher.sizes) >= seen + 25, 20, "frames after it")
            assert sender.transport.state == "connected"
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [
                r.getMessage() for r in caplog.records
            ]
        finally:
            playing.cancel()
            await service.close()
            await watcher.connection.close()

    asyncio.run(check())


def test_a_viewer_connects_though_strangers_sent_its_port_everything_before_it_did(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Between the answer and the end of the handshake, what a stranger sends the edge's
    port (`ENDERS`, `STRANGERS`, a flood of 1,400-byte DTLS-looking datagrams, STUN made
    costly to parse) reaches neither aioice's queue nor aiortc's DTLS: the viewer connects
    and gets its pictures, and nothing is logged."""
    caplog.set_level(logging.WARNING)
    units = _units(tmp_path)

    async def check() -> None:
        service, token, playing = _camera_on_loopback(units, max_viewers=1)
        watcher = _Watcher()
        viewer = watcher.connection
        try:
            await viewer.setLocalDescription(await viewer.createOffer())
            opened = await service.open(CAMERA, token, viewer.localDescription.sdp)
            assert isinstance(opened, WhepSession)
            ports = {int(line.split()[5]) for line in opened.answer.splitlines()
                     if line.startswith("a=candidate:")}  # fmt: skip
            assert ports
            edge_ice = opened.connection.getTransceivers()[0].sender.transport.transport
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
                stranger.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                for port in ports:
                    for datagram in [*ENDERS, *STRANGERS, _fingerprints(1_468)]:
                        stranger.sendto(datagram, ("127.0.0.1", port))
                    for _ in range(200):
                        stranger.sendto(b"\x17\xfe\xfd" + bytes(1397), ("127.0.0.1", port))
            await asyncio.sleep(0.2)  # (what the edge's sockets hold, read)
            assert edge_ice._connection._queue.empty()  # nothing kept for aiortc
            await viewer.setRemoteDescription(RTCSessionDescription(opened.answer, "answer"))
            await _until(lambda: len(watcher.sizes) >= 25, 20, "a second of frames")
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [
                r.getMessage() for r in caplog.records
            ]
        finally:
            playing.cancel()
            await service.close()
            await viewer.close()

    asyncio.run(check())


def test_stun_a_viewer_sends_is_taken_and_stun_costly_to_parse_is_not() -> None:
    """A check as ICE agents write them (aioice's own: USERNAME, PRIORITY, ICE-CONTROLLING,
    USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT) passes the sifting; one of more than
    MOST_STUN_ATTRIBUTES attributes, or of two FINGERPRINTs, does not."""
    check = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    check.attributes["USERNAME"] = "remote:local"
    check.attributes["PRIORITY"] = 1853824767
    check.attributes["ICE-CONTROLLING"] = 2**63 - 1
    check.attributes["USE-CANDIDATE"] = None
    check.add_message_integrity(b"a password of the session")
    check.add_fingerprint()
    assert _plain(bytes(check))
    assert _plain(_fingerprints(28))  # one
    assert not _plain(_fingerprints(36))  # two
    many = b"".join(struct.pack("!HH", 0x8030 + n, 0) for n in range(MOST_STUN_ATTRIBUTES + 1))
    head = struct.pack("!HHI12s", 0x0011, len(many), 0x2112A442, bytes(12))
    assert _plain(head[:2] + struct.pack("!H", len(many) - 4) + head[4:] + many[:-4])
    assert not _plain(head + many)
