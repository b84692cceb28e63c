"""One sender of a camera's video and sound to all its WebRTC viewers on this edge: each
frame is taken from the feed once, cut into RTP payloads once (FU-A and STAP-A, aiortc's own
H.264 packetizer), and written to every viewer in one pass, each viewer's packets with its
own sequence numbers, timestamps, SSRC, header extensions and SRTP; each sound packet (G.711,
Opus, as the camera sent it) likewise, to the viewers whose offer took sound.

aiortc would run one task per viewer, woken for every frame to take it from that viewer's
queue, join it into Annex B, split it again and packetize it: work paid per frame and per
viewer, the same for a 640x360 sub-stream's three packets as for a 1080p frame's twenty
(bench/walls_bench.py measured it: a sub-stream viewer cost 0.55x a main-stream viewer).

Each viewer's aiortc `RTCRtpSender` still runs as aiortc runs it: it is started and stopped
by its peer connection, reads the viewer's receiver reports, answers NACKs from the packet
history kept here, and says goodbye (RTCP BYE). Its two loops are replaced, on the instance,
by a place in the broadcast: its RTP, and its sender reports, which go with a frame's packets
(each viewer's every 0.5 to 1.5 s, as aiortc times them) rather than by a task and a timer
per viewer that woke the edge for each report (half of what a connected viewer cost it when
no picture was sent: bench/README.md). Its private state is reached by name (aiortc 1.16,
pinned in pyproject.toml; `take_over` refuses a sender without it rather than send wrong).

A viewer starts on a keyframe, and its sound with it. The broadcast's own place in the feed
is a `Viewer`: when the edge falls behind by a second, the broadcast skips to the next
keyframe, for everyone. Timestamps are the camera's RTP timestamps, counted from the
viewer's first packet (plus aiortc's random origin), unwrapped past 2^32 once for all.
"""

import asyncio
import contextlib
import logging
import random
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import pylibsrtp
from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import (
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
)
from aiortc.utils import random32
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

from video_service.edge.errors import FeedEnded, LiveViewRefused
from video_service.edge.live_view.fanout import PUBLISHER_GONE, LiveFeed
from video_service.edge.live_view.feedback import read_feedback_here
from video_service.edge.live_view.h264 import AccessUnit

log = logging.getLogger(__name__)

# What of an aiortc sender's private state the broadcast reads or keeps up to date.
_SENDER = "_RTCRtpSender__"
_STARTED, _EXITED, _HISTORY, _EXTENSIONS_MAP, _MID = (
    f"{_SENDER}{name}"
    for name in ("rtp_started", "rtp_exited", "rtp_history", "rtp_header_extensions_map", "mid")
)
_NTP_TIMESTAMP, _RTP_TIMESTAMP, _OCTET_COUNT, _PACKET_COUNT = (
    f"{_SENDER}{name}" for name in ("ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count")
)
# Its sender reports' part: the reports' CNAME, the last report's time (by which aiortc reads
# the round trip from a receiver report), and its RTCP loop's start and end.
_CNAME, _LSR, _LSR_TIME, _RTCP_STARTED, _RTCP_EXITED = (
    f"{_SENDER}{name}" for name in ("cname", "lsr", "lsr_time", "rtcp_started", "rtcp_exited")
)
# Its DTLS transport's counts (its stats), which aiortc's `_send_rtp` keeps.
_DTLS_TX_BYTES, _DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets"
_PRIVATE_STATE = {
    "sender": (_STARTED, _EXITED, _HISTORY, _EXTENSIONS_MAP, _MID, _NTP_TIMESTAMP,
               _RTP_TIMESTAMP, _OCTET_COUNT, _PACKET_COUNT, _CNAME, _LSR, _LSR_TIME,
               _RTCP_STARTED, _RTCP_EXITED),
    "transport": (_DTLS_TX_BYTES, _DTLS_TX_PACKETS, "_tx_srtp", "_state", "_rx_srtp",
                  "_handle_rtcp_data"),
    "ice": ("_connection",),  # aioice's, whose `data_received` feedback.py takes over
}  # fmt: skip
_NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 to 1970
_HEADER = struct.Struct("!BBHLL")  # RFC 3550, without CSRCs
_EXTENSION = struct.Struct("!HH")  # RFC 8285: the extensions' profile and length in words


_WRAP = 1 << 32


class Timeline:
    """A camera's RTP timestamps as a viewer's: counted from its first packet, unwrapped
    past 2^32, never backwards (a camera's clock may jump)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self.pts = 0

    def at(self, timestamp: int) -> int:
        if self._last is not None:
            step = (timestamp - self._last) % _WRAP
            if step < _WRAP // 2:
                self.pts += step
        self._last = timestamp
        return self.pts


class SenderUnsupported(RuntimeError):
    """The installed aiortc's sender is not the one the broadcast was written against."""


def payloads_of(nals: Sequence[bytes]) -> list[bytes]:
    """A frame's NAL units as RTP payloads (RFC 6184 packetization mode 1)."""
    return H264Encoder._packetize(nals)


class _History:
    """A sender's last packets, for NACKs, kept a frame at a time (its payloads, its first
    sequence number, timestamp and abs-send-time: one entry a frame, not one a packet), made
    into aiortc's `RtpPacket` only when one is asked for again. aiortc reads it as the dict
    it keeps, by `get(sequence % RTP_HISTORY_SIZE)`, and checks the packet's sequence: the
    newest of the frames held (at least the last RTP_HISTORY_SIZE packets) answers."""

    def __init__(self, payload_type: int, ssrc: int, mid: str | None) -> None:
        self.payload_type, self.ssrc, self.mid = payload_type, ssrc, mid
        self._frames: deque[tuple[int, list[bytes], int, int]] = deque()
        self._held = 0  # packets in _frames

    def add(self, first: int, payloads: list[bytes], timestamp: int, abs_send_time: int) -> None:
        frames = self._frames
        frames.append((first, payloads, timestamp, abs_send_time))
        self._held += len(payloads)
        while self._held - len(frames[0][1]) >= RTP_HISTORY_SIZE:
            self._held -= len(frames.popleft()[1])

    def get(self, key: int, default: Any = None) -> Any:
        for first, payloads, timestamp, abs_send_time in reversed(self._frames):
            index = (key - first) % RTP_HISTORY_SIZE
            if index < len(payloads):  # its last packet of that key (a frame may hold more)
                index += (len(payloads) - 1 - index) // RTP_HISTORY_SIZE * RTP_HISTORY_SIZE
                marker = int(index == len(payloads) - 1)
                sequence = (first + index) & 0xFFFF
                packet = RtpPacket(self.payload_type, marker, sequence, timestamp, self.ssrc,
                                   payloads[index])  # fmt: skip
                packet.extensions.mid = self.mid
                packet.extensions.abs_send_time = abs_send_time
                return packet
        return default


def _protector(session: Any) -> Callable[[bytes], bytes]:
    """pylibsrtp's `Session.protect`, less what it does again for every packet (a call
    within the call, an `int *` allocated, its checks): the session's own buffer and
    libsrtp's `srtp_protect`, as it calls them. Where the session is not pylibsrtp's (or
    not the one this was written against), its own `protect`."""
    if type(session) is not pylibsrtp.Session or not all(
        hasattr(session, name) for name in ("_srtp", "_cdata", "_buffer")
    ):
        return cast(Callable[[bytes], bytes], session.protect)
    srtp_protect, srtp, data, buffer = (
        srtp_lib.srtp_protect, session._srtp[0], session._cdata, session._buffer
    )  # fmt: skip
    length = srtp_ffi.new("int *")
    room = len(data) - pylibsrtp.SRTP_MAX_TRAILER_LEN

    def protect(packet: bytes) -> bytes:
        size = len(packet)
        if size > room:
            return session.protect(packet)  # its error
        buffer[0:size] = packet
        length[0] = size
        status = srtp_protect(srtp, data, length)
        if status:  # pylibsrtp's error, with libsrtp's words
            known = 0 <= status < len(pylibsrtp.ERRORS)
            raise pylibsrtp.Error(pylibsrtp.ERRORS[status] if known else f"libsrtp: {status}")
        return cast(bytes, buffer[0 : length[0]])

    return protect


class Clock(NamedTuple):
    """The time a frame (or a sound packet) leaves, read once for all its viewers: the
    packets leave within a few milliseconds of each other (aiortc reads it twice a
    packet)."""

    wall: float  # Unix time
    ntp: int  # the same, as NTP's 64-bit fixed point
    abs_send_time: int  # its 24 bits as the abs-send-time header extension carries it
    monotonic: float  # what the reports are timed by (the wall clock may be stepped back)

    @classmethod
    def now(cls) -> "Clock":
        wall = time.time()
        ntp = _ntp(wall)
        return cls(wall, ntp, (ntp >> 14) & 0x00FFFFFF, time.monotonic())


def _ntp(now: float) -> int:
    """A Unix time as NTP's 64-bit fixed point (aiortc's clock, without its datetimes)."""
    return int((now + _NTP_EPOCH_OFFSET) * (1 << 32))


class _Extensions:
    """A sender's RTP header extensions as bytes (the header's X part): its mid, and the
    abs-send-time where negotiated, written by aiortc's own `HeaderExtensionsMap` once, the
    time's three bytes replaced for each frame."""

    def __init__(self, extensions: HeaderExtensionsMap, mid: str | None) -> None:
        def block(abs_send_time: int) -> bytes:
            profile, value = extensions.set(HeaderExtensions(mid=mid, abs_send_time=abs_send_time))
            return _EXTENSION.pack(profile, len(value) >> 2) + value if value else b""

        self.template, other = block(0), block(0xFFFFFF)
        differing = [i for i, pair in enumerate(zip(self.template, other, strict=True))
                     if pair[0] != pair[1]]  # fmt: skip
        self._at = differing[0] if differing else None  # where the time's bytes are

    def at(self, abs_send_time: int) -> bytes:
        if self._at is None:
            return self.template
        at = self._at
        return self.template[:at] + abs_send_time.to_bytes(3, "big") + self.template[at + 3 :]


class _Target:
    """One viewer's RTP stream, numbered, timed and framed as aiortc's own loop would.

    Everything a frame's pass reads of it is its own (a viewer's state is out of the
    caches by the next frame: each object touched costs): its socket is found once (and
    again when ICE drops its pair or the socket closes), its counts are handed to aiortc's
    sender with each report. Its reports go with frames: while none flows (a stalled
    camera, a disabled sender) none is sent, rather than stale ones."""

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self.sender = sender
        self.payload_type = payload_type
        self.sequence = random_sequence_number()
        self.origin = random32()
        self.start: int | None = None  # the feed's time of its first packet
        self.waiting = True  # for a keyframe
        self.ended = asyncio.get_running_loop().create_future()
        self._ssrc: int = sender._ssrc
        self._mid: str | None = getattr(sender, _MID)
        self._history = _History(payload_type, self._ssrc, self._mid)
        setattr(sender, _HISTORY, self._history)
        self._extensions = _Extensions(getattr(sender, _EXTENSIONS_MAP), self._mid)
        self._dtls: RTCDtlsTransport = sender.transport
        self._protect = _protector(self._dtls._tx_srtp)
        self._octets = self._packets = self._tx_bytes = self._tx_packets = 0
        cname: str | None = getattr(sender, _CNAME)
        self._description = b"" if cname is None else bytes(RtcpSdesPacket(
            chunks=[RtcpSourceInfo(ssrc=self._ssrc, items=[(1, cname.encode())])]
        ))  # fmt: skip
        self._report_due = 0.0  # the first, 0.5 to 1.5 s after the first packet
        self._last = (0, 0)  # the last packet's NTP and RTP times, for the reports
        self._ice = self._dtls.transport._connection  # aioice's
        # the nominated pair, its transport, its socket's sendto, the viewer's address
        self._udp: tuple[Any, Any, Callable[[bytes, Any], Any], Any] | None = None
        self.sending: asyncio.Task[None] | None = None  # a send that may wait, under way

    def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)

    def packets(self, payloads: list[bytes], pts: int, clock: Clock) -> list[bytes]:
        """The frame's packets for this viewer, SRTP-protected, counted as sent (and its
        sender report where one is due). `pts`: the frame's time in the feed, unwrapped."""
        if self._dtls._state is not DtlsState.CONNECTED:
            raise ConnectionError("the viewer's DTLS transport is not connected")
        if self.start is None:
            self.start = pts
            self._report_due = clock.monotonic + 0.5 + random.random()
        rtp_timestamp = (self.origin + pts - self.start) & 0xFFFFFFFF
        extension = self._extensions.at(clock.abs_send_time)
        first = 0x90 if extension else 0x80  # RTP version 2, and the X bit
        ssrc, pt, sequence = self._ssrc, self.payload_type, self.sequence
        protect, pack = self._protect, _HEADER.pack
        self._history.add(sequence, payloads, rtp_timestamp, clock.abs_send_time)
        last = len(payloads) - 1
        out = []
        octets = 0
        for index, payload in enumerate(payloads):
            marker = 0x80 if index == last else 0
            header = pack(first, marker | pt, sequence, rtp_timestamp, ssrc)
            out.append(protect(header + extension + payload))
            sequence = (sequence + 1) & 0xFFFF
            octets += len(payload)
        self.sequence = sequence
        self._octets += octets
        self._packets += len(payloads)
        self._last = (clock.ntp, rtp_timestamp)  # the times a report gives
        if clock.monotonic >= self._report_due:
            out.append(self._report(clock))
            self._report_due = clock.monotonic + 0.5 + random.random()
        self._tx_packets += len(out)
        self._tx_bytes += sum(map(len, out))
        return out

    def _report(self, clock: Clock) -> bytes:
        """A sender report (and the CNAME), SRTCP-protected, as aiortc's RTCP loop sends it:
        the last packet's times, the counts so far. Hands the counts to aiortc (its stats)."""
        ntp, rtp_timestamp = self._last
        info = RtcpSenderInfo(ntp_timestamp=ntp, rtp_timestamp=rtp_timestamp,
                              packet_count=self._packets & 0xFFFFFFFF,
                              octet_count=self._octets & 0xFFFFFFFF)  # fmt: skip
        report = bytes(RtcpSrPacket(ssrc=self._ssrc, sender_info=info))
        setattr(self.sender, _LSR, (ntp >> 16) & 0xFFFFFFFF)
        setattr(self.sender, _LSR_TIME, clock.wall)
        self.hand_over_counts()
        return self._dtls._tx_srtp.protect_rtcp(report + self._description)

    def hand_over_counts(self) -> None:
        """What aiortc's loop would have counted: its sender's (for its stats and NACKs'
        sake) and its transport's."""
        sender, dtls = self.sender, self._dtls
        if self.start is not None:
            setattr(sender, _NTP_TIMESTAMP, self._last[0])
            setattr(sender, _RTP_TIMESTAMP, self._last[1])
        setattr(sender, _OCTET_COUNT, self._octets)
        setattr(sender, _PACKET_COUNT, self._packets)
        setattr(dtls, _DTLS_TX_BYTES, getattr(dtls, _DTLS_TX_BYTES) + self._tx_bytes)
        setattr(dtls, _DTLS_TX_PACKETS, getattr(dtls, _DTLS_TX_PACKETS) + self._tx_packets)
        self._tx_bytes = self._tx_packets = 0

    def write(self, packets: list[bytes]) -> bool:
        """Writes the packets to the viewer's UDP socket where ICE chose a plain UDP pair
        (what aiortc's five awaits end in: asyncio's transport's `sendto`, less its checks);
        False where they must go by `send`. A packet the socket cannot take now is left out,
        as a full network would (the viewer asks again, by NACK)."""
        pair, udp = self._ice._nominated.get(1), self._udp
        # The pair found last time, while ICE keeps it and its socket is open (aioice closes
        # the sockets before the DTLS transport hears of it; a closed one's sendto raises).
        if udp is None or udp[0] is not pair or udp[1].is_closing():
            self._udp = udp = None
            if pair is None or type(pair.protocol) is not StunProtocol:
                return False
            transport = pair.protocol.transport
            # asyncio's selector transport, whose socket is written (a TURN relay's transport,
            # or another loop's, has none: aiortc's path, which does not wait for them)
            socket = getattr(transport, "_sock", None)
            if socket is None or transport.is_closing():
                return False
            udp = self._udp = (pair, transport, socket.sendto, pair.remote_addr)
        sendto, address = udp[2], udp[3]
        try:
            for packet in packets:
                sendto(packet, address)
        except BlockingIOError:
            pass  # the rest of the frame is lost to this viewer
        except OSError as error:  # (asyncio's transport tells its protocol, aioice logs it)
            log.debug("live view: a viewer's packets not written: %s", error)
        return True

    async def send(self, packets: list[bytes]) -> None:
        """Through aiortc's ICE transport, which may wait (aioice 0.13 waits nowhere: with no
        nominated pair it raises ConnectionError; a TURN pair's relay is written at once)."""
        for packet in packets:
            await self._dtls.transport._send(packet)


class _Viewer:
    """One session in the broadcast: its sound waits for its picture."""

    def __init__(self) -> None:
        self.video: _Target | None = None  # once aiortc starts its video sender

    @property
    def sees(self) -> bool:
        """Its picture has started (sound starts with it)."""
        return self.video is not None and not self.video.waiting


class Broadcast:
    """A feed's video and sound to the viewers whose senders it took over, while it is open."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self._source = feed.join()
        self._video: list[_Target] = []
        self._sound: list[tuple[_Viewer, _Target]] = []
        self.holders = 0  # live-view sessions using it (Broadcasts counts them)
        self._timeline, self._sound_timeline = Timeline(), Timeline()
        self._task = asyncio.create_task(self._run(), name=f"live view of {feed.camera_id}")
        self._sound_task = asyncio.create_task(self._run_sound(), name=f"sound of {feed.camera_id}")
        for task in (self._task, self._sound_task):
            task.add_done_callback(self._failed)

    @property
    def running(self) -> bool:
        return not self._task.done()

    def _failed(self, task: "asyncio.Task[None]") -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("live view of %s: %s failed", self.feed.camera_id, task.get_name(),
                      exc_info=task.exception())  # fmt: skip

    def take_over(self, video: RTCRtpSender, sound: RTCRtpSender | None = None) -> None:
        """One viewer's senders: their RTP (once its connection starts them) comes from this
        broadcast; each ends, as aiortc's loop does, stopping its track, when the feed ends,
        its transport fails, or the broadcast closes. Call before the connection is
        negotiated."""
        for sender in (video, sound):
            if sender is None:
                continue
            owners = {"sender": sender, "transport": sender.transport,
                      "ice": getattr(sender.transport, "transport", None)}  # fmt: skip
            missing = [f"{owner}.{name}" for owner, names in _PRIVATE_STATE.items()
                       for name in names if not hasattr(owners[owner], name)]  # fmt: skip
            if missing:  # an aiortc other than the one this was written against
                raise SenderUnsupported(f"aiortc's RTCRtpSender lacks {', '.join(missing)}")
        viewer = _Viewer()
        self._replace_loop(video, viewer, is_video=True)
        if sound is not None:
            self._replace_loop(sound, viewer, is_video=False)

    def _replace_loop(self, sender: RTCRtpSender, viewer: _Viewer, is_video: bool) -> None:
        async def run_rtp(codec: RTCRtpCodecParameters) -> None:
            getattr(sender, _STARTED).set()
            target = None
            try:
                # its transport as negotiated (BUNDLE may have given it another's)
                read_feedback_here(sender.transport)
                target = _Target(sender, codec.payloadType or 0)  # aiortc numbers every codec
                if self._task.done():
                    target.end()
                if is_video:
                    viewer.video = target
                    self._video.append(target)
                else:
                    self._sound.append((viewer, target))
                await target.ended
            except asyncio.CancelledError:  # the sender stopped (its connection closed)
                pass
            except Exception:  # negotiated what cannot be sent (aiortc's own loop ends too)
                log.exception("live view of %s: a viewer's stream cannot be sent",
                              self.feed.camera_id)  # fmt: skip
            finally:
                if target in self._video:
                    self._video.remove(target)
                self._sound = [(v, t) for v, t in self._sound if t is not target]
                if sender.track is not None:
                    sender.track.stop()  # its session ends
                getattr(sender, _EXITED).set()  # what aiortc's `stop` waits for
                if target is not None:
                    target.hand_over_counts()  # its stats, final

        async def run_rtcp() -> None:
            getattr(sender, _RTCP_STARTED).set()
            try:
                await asyncio.get_running_loop().create_future()  # its reports go with frames
            except asyncio.CancelledError:  # the sender stopped
                pass
            finally:
                try:
                    await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
                finally:
                    getattr(sender, _RTCP_EXITED).set()  # what aiortc's `stop` waits for

        sender._run_rtp = run_rtp  # type: ignore[method-assign]
        sender._run_rtcp = run_rtcp  # type: ignore[method-assign]

    def close(self) -> None:
        self.feed.leave(self._source)
        self._task.cancel()
        self._sound_task.cancel()
        self._end_all()

    def _end_all(self) -> None:
        for target in self._video:
            target.end()
        for _, target in self._sound:
            target.end()

    async def _run(self) -> None:
        try:
            while True:
                self._send(await self._source.next())
        except FeedEnded:
            pass
        finally:
            self.feed.leave(self._source)
            self._sound_task.cancel()
            self._end_all()

    def _send(self, unit: AccessUnit) -> None:
        pts = self._timeline.at(unit.timestamp)
        payloads: list[bytes] | None = None
        clock = Clock.now()
        for target in tuple(self._video):
            if target.ended.done() or not target.sender._enabled:
                continue
            if target.waiting and not unit.keyframe:
                continue
            if payloads is None:
                try:
                    payloads = payloads_of(unit.nals)
                except Exception:  # a frame that cannot be cut into packets: the next one
                    log.exception("live view of %s: a frame left out", self.feed.camera_id)
                    return
            target.waiting = False
            self._write(target, payloads, pts, clock)

    async def _run_sound(self) -> None:
        with contextlib.suppress(FeedEnded):
            while True:
                timestamp, payload = await self._source.next_audio()
                pts, clock = self._sound_timeline.at(timestamp), Clock.now()
                for viewer, target in tuple(self._sound):
                    if viewer.sees and not target.ended.done() and target.sender._enabled:
                        self._write(target, [payload], pts, clock)

    def _write(self, target: _Target, payloads: list[bytes], pts: int, clock: Clock) -> None:
        """The viewer's packets, written at once; where its path may wait (not a plain UDP
        pair), sent by a task of its own, and left out while its last such send waits: one
        slow viewer slows no one."""
        try:
            packets = target.packets(payloads, pts, clock)
            if target.write(packets):
                return
            if target.sending is None or target.sending.done():
                target.sending = asyncio.create_task(self._send_slowly(target, packets))
        except ConnectionError:  # its DTLS transport closed
            target.end()
        except Exception:  # one viewer's fault is not the others'
            log.exception("live view of %s: a viewer's packets failed", self.feed.camera_id)
            target.end()

    async def _send_slowly(self, target: _Target, packets: list[bytes]) -> None:
        try:
            await target.send(packets)
        except ConnectionError:
            target.end()
        except Exception:
            log.exception("live view of %s: a viewer's packets failed", self.feed.camera_id)
            target.end()


class Broadcasts:
    """The broadcasts of one edge's feeds, each open while a live-view session holds it."""

    def __init__(self) -> None:
        self._open: dict[str, Broadcast] = {}

    def hold(self, feed: LiveFeed) -> Broadcast:
        """The feed's broadcast, held until `release`d; a new one where the camera published
        again (a new feed: the old one's sessions end with their feed) or the old one ended.
        LiveViewRefused for a feed that cannot be relayed or has ended."""
        if feed.refusal is not None or feed.closed:  # its broadcast may still be draining
            raise LiveViewRefused(feed.refusal or PUBLISHER_GONE)
        current = self._open.get(feed.camera_id)
        if current is not None and (current.feed is not feed or not current.running):
            del self._open[feed.camera_id]
            current.close()
            current = None
        if current is None:
            current = Broadcast(feed)
            self._open[feed.camera_id] = current
        current.holders += 1
        return current

    def release(self, broadcast: Broadcast) -> None:
        broadcast.holders -= 1
        if broadcast.holders <= 0:
            if self._open.get(broadcast.feed.camera_id) is broadcast:
                del self._open[broadcast.feed.camera_id]
            broadcast.close()

    def close(self) -> None:
        for broadcast in self._open.values():
            broadcast.close()
        self._open.clear()
