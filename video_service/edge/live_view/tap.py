"""The camera's video as the edge relays it: the publisher's ANNOUNCE names the video track
(codec, payload type, control, parameter sets), its SETUP names the interleaved channel that
carries it, and after RECORD the relayed bytes are read as interleaved frames
(`$`, channel, length, RTP packet) with RTSP requests (keep-alives) between them. The video
channel's packets are rebuilt into frames for the camera's `LiveFeed`.

The tap never slows the relay: it reads what the relay has already forwarded, and does the
H.264 work only while someone is watching.
"""

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from video_service.edge.errors import BadMessage, BadPacket
from video_service.edge.live_view.fanout import LiveFeed
from video_service.edge.live_view.h264 import (
    SPS,
    Depacketizer,
    nal_type,
    parse_rtp,
    sprop_parameter_sets,
    sps_size,
    starts_b_slice,
)
from video_service.edge.rtsp import MAX_HEAD, Message

B_FRAMES = "the camera's H.264 has B-frames, which WebRTC cannot carry: set the camera to none"
# A stream's first packets are looked at for B-frames (which live view refuses, said before
# anyone asks to watch): a stream with B-frames has them in every group of pictures, and 300
# packets span a few (a 720p stream's two seconds, a small one's ten or more). After them, a
# stream no one watches is only skimmed.
B_FRAME_CHECK_PACKETS = 300
MAX_BUFFER = 256 * 1024  # an interleaved frame is at most 64 KiB; an RTSP head far less
_INTERLEAVED = re.compile(
    r"interleaved=([0-9]{1,3})(?![0-9])(?:-([0-9]{1,3})(?![0-9]))?", re.IGNORECASE
)
_CONTENT_LENGTH = re.compile(r"(?im)^content-length:[ \t]*([0-9]{1,9})[ \t]*$")


# What WebRTC carries of a camera's audio as it is (RTP payloads passed through), by the
# SDP's rtpmap name: the browser's name for it, and its clock.
RELAYED_AUDIO = {"PCMU": ("audio/PCMU", 8000), "PCMA": ("audio/PCMA", 8000),
                 "OPUS": ("audio/opus", 48000)}  # fmt: skip


@dataclass(frozen=True)
class VideoTrack:
    codec: str  # as the SDP's rtpmap names it: H264, H265, PCMU, MPEG4-GENERIC, ...
    payload_type: int
    control: str
    parameter_sets: tuple[bytes, ...]
    clock_rate: int = 90_000


def audio_track(sdp: str) -> VideoTrack | None:
    """The first audio track of an SDP, or None."""
    return _track(sdp, "audio")


def video_track(sdp: str) -> VideoTrack | None:
    """The first video track of an SDP, or None."""
    return _track(sdp, "video")


def _track(sdp: str, kind: str) -> VideoTrack | None:
    media: list[str] | None = None
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m="):
            if media is not None:
                break
            if line.startswith(f"m={kind}"):
                media = [line]
        elif media is not None:
            media.append(line)
    if not media:
        return None
    formats = media[0].split()[3:]
    if not formats or not (formats[0].isascii() and formats[0].isdigit()):
        return None
    payload_type = int(formats[0])
    codec, control, fmtp, clock = "", "", "", 90_000
    if payload_type in (0, 8):  # static payload types need no rtpmap
        codec, clock = ("PCMU" if payload_type == 0 else "PCMA"), 8000
    for line in media[1:]:
        key, _, value = line.partition(":")
        pt, _, rest = value.partition(" ")
        if key == "a=rtpmap" and pt == str(payload_type):
            name, _, rate = rest.partition("/")
            codec = name.upper()
            first = rate.split("/")[0]
            clock = int(first) if first.isascii() and first.isdigit() else clock
        elif key == "a=fmtp" and pt == str(payload_type):
            fmtp = rest
        elif key == "a=control":
            control = value
    sprop = re.search(r"sprop-parameter-sets=([^;\s]+)", fmtp)
    sets = sprop_parameter_sets(sprop.group(1)) if sprop else ()
    return VideoTrack(codec, payload_type, control, sets, clock)


def setup_channel(setup: Message, track: VideoTrack) -> int | None:
    """The interleaved channel a SETUP gives the video track; None for another track."""
    if not track.control or not (
        setup.url == track.control or setup.url.rstrip("/").endswith("/" + track.control)
    ):
        return None
    channels = interleaved_channels(setup.header("Transport") or "")
    return channels[0] if channels else None


def interleaved_channels(transport: str) -> tuple[int, int] | None:
    """The RTP and RTCP channels a Transport header names (`interleaved=0-1`; the second,
    when left out, the one after the first); None when it names none."""
    match = _INTERLEAVED.search(transport)
    if match is None:
        return None
    first = int(match.group(1))
    return first, int(match.group(2)) if match.group(2) else first + 1


class InterleavedReader:
    """The publisher's byte stream after RECORD, split into (channel, packet) frames; the
    RTSP requests between them (head and body) go to `on_request` where one is given."""

    def __init__(self, on_request: Callable[[bytes], None] | None = None) -> None:
        self._buffer = bytearray()
        self._on_request = on_request

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """The whole frames the stream holds now, with this chunk."""
        return self._scan(chunk, keep=True)

    def skim(self, chunk: bytes) -> None:
        """Pass over the frames without copying them out (no one wants them): only the
        requests between them are seen."""
        self._scan(chunk, keep=False)

    def _scan(self, chunk: bytes, keep: bool) -> list[tuple[int, bytes]]:
        self._buffer += chunk
        buffer = self._buffer
        frames: list[tuple[int, bytes]] = []
        offset = 0
        while offset < len(buffer):
            if buffer[offset] == 0x24:  # "$"
                if len(buffer) - offset < 4:
                    break
                channel, length = struct.unpack_from("!BH", buffer, offset + 1)
                if len(buffer) - offset < 4 + length:
                    break
                if keep:
                    frames.append((channel, bytes(buffer[offset + 4 : offset + 4 + length])))
                offset += 4 + length
            else:  # an RTSP request between frames (GET_PARAMETER, TEARDOWN)
                end = buffer.find(b"\r\n\r\n", offset, offset + MAX_HEAD)
                if end < 0:
                    if len(buffer) - offset > MAX_HEAD:
                        raise BadPacket("a request between the frames with an endless head")
                    break
                head = bytes(buffer[offset:end]).decode("latin-1")
                found = _CONTENT_LENGTH.search(head)
                body = int(found.group(1)) if found else 0
                if len(buffer) < end + 4 + body:
                    break
                if self._on_request is not None:
                    self._on_request(bytes(buffer[offset : end + 4 + body]))
                offset = end + 4 + body
        del buffer[:offset]
        if len(buffer) > MAX_BUFFER:
            raise BadPacket("the publisher's stream is not interleaved RTP")
        return frames


class CameraTap:
    """Reads a publisher's relayed bytes into the camera's feed."""

    def __init__(self, announce_sdp: str, feed: LiveFeed) -> None:
        self.track = video_track(announce_sdp)
        self.audio = audio_track(announce_sdp)
        self.feed = feed
        self._channel: int | None = None
        self._audio_channel: int | None = None
        self._reader = InterleavedReader()
        self._depacketizer: Depacketizer | None = None
        self._broken = False
        self._checked = 0  # packets looked at (for B-frames)
        if self.track is None:
            feed.refuse("the camera's stream has no video track")
        elif self.track.codec != "H264":
            feed.refuse(f"the camera sends {self.track.codec}; live view relays H.264 only")
        if self.audio is not None and self.audio.codec in RELAYED_AUDIO:
            feed.audio_codec = RELAYED_AUDIO[self.audio.codec]
        elif self.audio is not None:
            codec = self.audio.codec
            feed.audio_note = f"the camera's audio is {codec}, which WebRTC does not carry as it is"

    def note_setup(self, setup: Message) -> None:
        if self.track is not None:
            channel = setup_channel(setup, self.track)
            if channel is not None:
                self._channel = channel
        if self.audio is not None and self.feed.audio_codec is not None:
            channel = setup_channel(setup, self.audio)
            if channel is not None:
                self._audio_channel = channel

    def __call__(self, chunk: bytes) -> None:
        if self._broken or self._channel is None or self.feed.refusal is not None:
            return
        try:
            self.read(self._reader, chunk)
        except BadPacket as error:
            self.broken(str(error))

    def read(self, reader: InterleavedReader, chunk: bytes) -> None:
        """The chunk's frames into the feed, through `reader` (the caller's, where it wants
        the requests between them). The first `B_FRAME_CHECK_PACKETS` are always looked
        at; after them, while no one watches, the frames are only skimmed."""
        if not self.feed.watched and self._checked >= B_FRAME_CHECK_PACKETS:
            reader.skim(chunk)
            return
        for channel, packet in reader.feed(chunk):
            self.frame(channel, packet)
            self._checked += 1

    def read_or_end(self, reader: InterleavedReader, chunk: bytes) -> None:
        """`read`, for a session that ends on a stream it cannot read: the feed is refused
        and BadMessage says why."""
        try:
            self.read(reader, chunk)
        except BadPacket as error:
            self.broken(str(error))
            raise BadMessage(str(error)) from error

    def frame(self, channel: int, packet: bytes) -> None:
        """One interleaved frame, for a caller that splits the stream itself."""
        if self._broken or self.feed.refusal is not None:
            return
        if channel == self._channel:
            self._packet(packet)
        elif channel == self._audio_channel and self.feed.watched:
            self._audio_packet(packet)

    def broken(self, why: str) -> None:
        self._broken = True
        self.feed.refuse(f"the camera's stream cannot be read: {why}")

    @property
    def size(self) -> tuple[int, int] | None:
        """The video's width and height, as its SPS says; None when not known."""
        if self.track is None or self.track.codec != "H264":
            return None
        sizes = (sps_size(nal) for nal in self.track.parameter_sets if nal_type(nal) == SPS)
        return next((size for size in sizes if size is not None), None)

    def _packet(self, data: bytes) -> None:
        assert self.track is not None
        try:
            packet = parse_rtp(data)
        except BadPacket:
            return  # one bad packet: the depacketizer sees the gap
        if packet.payload_type != self.track.payload_type:
            return
        if starts_b_slice(packet.payload):  # known before anyone asks to watch
            self.feed.refuse(B_FRAMES)
            return
        if not self.feed.watched:
            return  # the depacketizer sees the gap, and starts again at the next IDR
        if self._depacketizer is None:
            self._depacketizer = Depacketizer(self.track.parameter_sets)
        for unit in self._depacketizer.push(packet):
            self.feed.publish(unit)

    def _audio_packet(self, data: bytes) -> None:
        assert self.audio is not None
        try:
            packet = parse_rtp(data)
        except BadPacket:
            return
        if packet.payload_type == self.audio.payload_type and packet.payload:
            self.feed.publish_audio(packet.timestamp, packet.payload)
