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
by its peer connection, sends RTCP (sender reports from the counts kept here), and answers
NACKs from the packet history kept here. Only its RTP loop (`_run_rtp`) is replaced, on the
instance, by a place in the broadcast. Its private state is reached by name (aiortc 1.16,
pinned in pyproject.toml; `take_over` refuses a sender without it rather than send wrong).

A viewer starts on a keyframe, and its sound with it. The broadcast's own place in the feed
is a `Viewer`: when the edge falls behind by a second, the broadcast skips to the next
keyframe, for everyone. Timestamps are the camera's RTP timestamps, counted from the
viewer's first packet (plus aiortc's random origin), unwrapped past 2^32.
"""

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap, RtpPacket
from aiortc.utils import random32, uint32_add

from video_service.edge.errors import FeedEnded, LiveViewRefused
from video_service.edge.live_view.fanout import PUBLISHER_GONE, LiveFeed
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
# Its DTLS transport's counts (its stats), which aiortc's `_send_rtp` keeps.
_DTLS_TX_BYTES, _DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets"
_PRIVATE_STATE = {
    "sender": (_STARTED, _EXITED, _HISTORY, _EXTENSIONS_MAP, _MID, _NTP_TIMESTAMP,
               _RTP_TIMESTAMP, _OCTET_COUNT, _PACKET_COUNT),
    "transport": (_DTLS_TX_BYTES, _DTLS_TX_PACKETS, "_tx_srtp", "_state"),
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


class _Sent(NamedTuple):
    payload_type: int
    marker: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    mid: str | None
    abs_send_time: int


class _History(dict[int, _Sent]):
    """A sender's last packets, for NACKs: kept as their parts, made into aiortc's
    `RtpPacket` only when one is asked for again (aiortc reads them by `get`)."""

    def get(self, key: int, default: Any = None) -> Any:
        sent = dict.get(self, key)
        if sent is None:
            return default
        packet = RtpPacket(*sent[:6])
        packet.extensions.mid = sent.mid
        packet.extensions.abs_send_time = sent.abs_send_time
        return packet


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
    """One viewer's RTP stream, numbered, timed and framed as aiortc's own loop would."""

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self.sender = sender
        self.payload_type = payload_type
        self.sequence = random_sequence_number()
        self.origin = random32()
        self.timeline = Timeline()
        self.waiting = True  # for a keyframe
        self.ended = asyncio.get_running_loop().create_future()
        self._history = _History()
        setattr(sender, _HISTORY, self._history)
        self._mid: str | None = getattr(sender, _MID)
        self._extensions = _Extensions(getattr(sender, _EXTENSIONS_MAP), self._mid)
        self._dtls: RTCDtlsTransport = sender.transport
        self._octets = self._packets = 0
        self.sending: asyncio.Task[None] | None = None  # a send that may wait, under way

    def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)

    def packets(self, payloads: list[bytes], timestamp: int) -> list[bytes]:
        """The frame's packets for this viewer, SRTP-protected, counted as sent."""
        sender, dtls = self.sender, self._dtls
        if dtls._state is not DtlsState.CONNECTED:
            raise ConnectionError("the viewer's DTLS transport is not connected")
        rtp_timestamp = uint32_add(self.origin, self.timeline.at(timestamp))
        # One reading of the clock for the frame's packets (aiortc reads it twice a packet):
        # they leave within microseconds of each other.
        now = _ntp(time.time())
        abs_send_time = (now >> 14) & 0x00FFFFFF
        extension = self._extensions.at(abs_send_time)
        first = 0x90 if extension else 0x80  # RTP version 2, and the X bit
        ssrc, pt, sequence, mid = sender._ssrc, self.payload_type, self.sequence, self._mid
        protect, history = dtls._tx_srtp.protect, self._history
        last = len(payloads) - 1
        out = []
        for index, payload in enumerate(payloads):
            marker = 1 if index == last else 0
            header = _HEADER.pack(first, marker << 7 | pt, sequence, rtp_timestamp, ssrc)
            history[sequence % RTP_HISTORY_SIZE] = _Sent(
                pt, marker, sequence, rtp_timestamp, ssrc, payload, mid, abs_send_time
            )
            out.append(protect(header + extension + payload))
            sequence = (sequence + 1) & 0xFFFF
            self._octets += len(payload)
        self.sequence = sequence
        self._packets += len(payloads)
        # What aiortc's loop keeps for its RTCP sender reports, and its transport's stats.
        setattr(sender, _NTP_TIMESTAMP, now)
        setattr(sender, _RTP_TIMESTAMP, rtp_timestamp)
        setattr(sender, _OCTET_COUNT, self._octets)
        setattr(sender, _PACKET_COUNT, self._packets)
        setattr(dtls, _DTLS_TX_BYTES, getattr(dtls, _DTLS_TX_BYTES) + sum(map(len, out)))
        setattr(dtls, _DTLS_TX_PACKETS, getattr(dtls, _DTLS_TX_PACKETS) + len(out))
        return out

    def write(self, packets: list[bytes]) -> bool:
        """Writes the packets to the viewer's UDP socket where ICE chose a plain UDP pair
        (what aiortc's five awaits end in); False where they must go by `send`."""
        pair = self._dtls.transport._connection._nominated.get(1)
        if pair is None or type(pair.protocol) is not StunProtocol:
            return False
        socket = pair.protocol.transport
        if socket is None:
            return False
        address = pair.remote_addr
        for packet in packets:
            socket.sendto(packet, address)
        return True

    async def send(self, packets: list[bytes]) -> None:
        """Through aiortc's ICE transport, which may wait (aioice 0.13 waits nowhere: with no
        nominated pair it raises ConnectionError; TURN pairs are written by `write`)."""
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
            owners = {"sender": sender, "transport": sender.transport}
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

        sender._run_rtp = run_rtp  # type: ignore[method-assign]

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
                await self._send(await self._source.next())
        except FeedEnded:
            pass
        finally:
            self.feed.leave(self._source)
            self._sound_task.cancel()
            self._end_all()

    async def _send(self, unit: AccessUnit) -> None:
        payloads: list[bytes] | None = None
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
            await self._write(target, payloads, unit.timestamp)

    async def _run_sound(self) -> None:
        with contextlib.suppress(FeedEnded):
            while True:
                timestamp, payload = await self._source.next_audio()
                for viewer, target in tuple(self._sound):
                    if viewer.sees and not target.ended.done() and target.sender._enabled:
                        await self._write(target, [payload], timestamp)

    async def _write(self, target: _Target, payloads: list[bytes], timestamp: int) -> None:
        """The viewer's packets, written at once; where its path may wait (not a plain UDP
        pair), sent by a task of its own, and left out while its last such send waits: one
        slow viewer slows no one."""
        try:
            packets = target.packets(payloads, timestamp)
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
