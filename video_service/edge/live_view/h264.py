"""H.264 from RTP (RFC 6184, packetization modes 0 and 1) back into whole access units, without
decoding: single NAL unit packets, STAP-A aggregates and FU-A fragments are rebuilt into the
frame's NAL units; a frame ends at the RTP marker bit or when the timestamp moves on.

A keyframe (an IDR) is handed on with the stream's SPS and PPS in front (from the stream
itself, or the ANNOUNCE's `sprop-parameter-sets` until the stream sends its own), so that a
viewer can start on any of them. A lost packet (a sequence gap) drops the frame it belongs to
and every frame until the next IDR: they would decode to grey.

B-frames are told apart from the first slice header of each frame (`slice_type`): WebRTC
cannot carry them (no reordering), so the relay refuses such a stream.
"""

import base64
import binascii
import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from video_service.edge.errors import BadPacket

START_CODE = b"\x00\x00\x00\x01"
NON_IDR, IDR, SEI, SPS, PPS, AUD = 1, 5, 6, 7, 8, 9
STAP_A, FU_A = 24, 28
MAX_FRAME_BYTES = 8 * 1024 * 1024  # a frame larger than this is a broken stream
_B_SLICE = 1  # slice_type % 5


class AccessUnit(NamedTuple):
    """One frame: its RTP timestamp (90 kHz, as the camera sent it) and its NAL units."""

    timestamp: int
    nals: tuple[bytes, ...]
    keyframe: bool
    b_frame: bool

    def annex_b(self) -> bytes:
        return b"".join(START_CODE + nal for nal in self.nals)


class RtpPacket(NamedTuple):
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """An RTP packet's header and payload (CSRCs, the header extension and padding removed)."""
    if len(data) < 12 or data[0] >> 6 != 2:
        raise BadPacket("not RTP version 2")
    first, second, sequence, timestamp = struct.unpack_from("!BBHI", data)
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension
        if len(data) < offset + 4:
            raise BadPacket("a header extension past the end")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: its length is the last byte
        end -= data[-1]
    if end < offset:
        raise BadPacket("the header is longer than the packet")
    return RtpPacket(second & 0x7F, bool(second & 0x80), sequence, timestamp, data[offset:end])


def sprop_parameter_sets(value: str) -> tuple[bytes, ...]:
    """The SPS and PPS named by an SDP's `sprop-parameter-sets` (base64, comma-separated);
    what does not decode is left out."""
    found = []
    for part in value.split(","):
        try:
            nal = base64.b64decode(part.strip(), validate=True)
        except (binascii.Error, ValueError):
            continue
        if nal and nal[0] & 0x1F in (SPS, PPS):
            found.append(nal)
    return tuple(found)


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


class Depacketizer:
    """Feed it RTP packets of one H.264 stream in order; it yields whole frames."""

    def __init__(self, parameter_sets: Sequence[bytes] = ()) -> None:
        self._sps = next((n for n in parameter_sets if nal_type(n) == SPS), None)
        self._pps = next((n for n in parameter_sets if nal_type(n) == PPS), None)
        self._nals: list[bytes] = []
        self._size = 0
        self._timestamp: int | None = None
        self._fragment: bytearray | None = None
        self._sequence: int | None = None
        self._broken = True  # until the first IDR: what came before it cannot be decoded
        self.dropped = 0  # frames left out (lost packets, waiting for an IDR)

    @property
    def parameter_sets(self) -> tuple[bytes, ...]:
        return tuple(n for n in (self._sps, self._pps) if n is not None)

    def push(self, packet: RtpPacket) -> Iterator[AccessUnit]:
        if self._sequence is not None and packet.sequence != (self._sequence + 1) & 0xFFFF:
            self._lost()
        self._sequence = packet.sequence
        if self._timestamp is not None and packet.timestamp != self._timestamp:
            yield from self._finish()  # the marker bit was lost or never set
        self._timestamp = packet.timestamp
        try:
            self._take(packet.payload)
        except BadPacket:
            self._lost()
        if packet.marker:
            yield from self._finish()

    def _take(self, payload: bytes) -> None:
        if not payload:
            raise BadPacket("an empty payload")
        kind = payload[0] & 0x1F
        if kind == STAP_A:
            offset = 1
            while offset + 2 <= len(payload):
                (size,) = struct.unpack_from("!H", payload, offset)
                nal = payload[offset + 2 : offset + 2 + size]
                if size == 0 or len(nal) != size:
                    raise BadPacket("a STAP-A unit past the end")
                self._add(nal)
                offset += 2 + size
        elif kind == FU_A:
            if len(payload) < 3:
                raise BadPacket("a short FU-A")
            start, end = payload[1] & 0x80, payload[1] & 0x40
            if start:
                header = (payload[0] & 0xE0) | (payload[1] & 0x1F)
                self._fragment = bytearray([header])
            elif self._fragment is None:
                raise BadPacket("an FU-A without its start")
            self._fragment += payload[2:]
            if len(self._fragment) > MAX_FRAME_BYTES:
                raise BadPacket("an FU-A too large")
            if end:
                self._add(bytes(self._fragment))
                self._fragment = None
        elif 1 <= kind <= 23:
            self._add(payload)
        else:
            raise BadPacket(f"an RTP H.264 packet of type {kind}")

    def _add(self, nal: bytes) -> None:
        kind = nal_type(nal)
        if kind == SPS:
            self._sps = nal
        elif kind == PPS:
            self._pps = nal
        if kind == AUD:
            return  # the frames are framed by RTP; an access unit delimiter adds nothing
        self._size += len(nal)
        if self._size > MAX_FRAME_BYTES:
            raise BadPacket("a frame too large")
        self._nals.append(nal)

    def _lost(self) -> None:
        self._nals, self._size, self._fragment = [], 0, None
        self._broken = True

    def _finish(self) -> Iterator[AccessUnit]:
        nals, timestamp = self._nals, self._timestamp
        self._nals, self._size, self._fragment = [], 0, None
        if not nals or timestamp is None:
            return
        slices = [n for n in nals if nal_type(n) in (NON_IDR, IDR)]
        if not slices:
            return  # parameter sets or SEI alone: they go in front of the next keyframe
        keyframe = nal_type(slices[0]) == IDR
        if keyframe:
            self._broken = False
            kinds = {nal_type(n) for n in nals}
            if SPS not in kinds or PPS not in kinds:
                nals = [*self.parameter_sets, *(n for n in nals if nal_type(n) not in (SPS, PPS))]
        if self._broken:
            self.dropped += 1
            return
        yield AccessUnit(timestamp, tuple(nals), keyframe, is_b_slice(slices[0]))


def starts_b_slice(payload: bytes) -> bool:
    """Whether an RTP payload starts a B slice (a single NAL unit, or an FU-A's first
    fragment): a look at a few bytes, cheap enough for every packet of an unwatched camera."""
    if not payload:
        return False
    kind = payload[0] & 0x1F
    if kind in (NON_IDR, IDR):
        return is_b_slice(payload)
    if kind == FU_A and len(payload) > 2 and payload[1] & 0x80:
        return payload[1] & 0x1F in (NON_IDR, IDR) and is_b_slice(payload[1:])
    return False


def is_b_slice(nal: bytes) -> bool:
    """Whether a slice NAL unit is a B slice: its header's second field, `slice_type`."""
    bits = _BitReader(_unescaped(nal[1:16]))
    try:
        bits.ue()  # first_mb_in_slice
        return bits.ue() % 5 == _B_SLICE
    except IndexError:
        return False


def _unescaped(data: bytes) -> bytes:
    """Emulation prevention bytes (00 00 03) removed."""
    return data.replace(b"\x00\x00\x03", b"\x00\x00")


class _BitReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._bit = 0

    def bit(self) -> int:
        byte = self._data[self._bit >> 3]  # IndexError past the end
        value = (byte >> (7 - (self._bit & 7))) & 1
        self._bit += 1
        return value

    def ue(self) -> int:
        """An unsigned Exp-Golomb code."""
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise IndexError("an Exp-Golomb code too long")
        value = 0
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return (1 << zeros) - 1 + value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def se(self) -> int:
        """A signed Exp-Golomb code."""
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


# Profiles whose SPS carries the chroma format, bit depths and scaling matrices.
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def sps_size(sps: bytes) -> tuple[int, int] | None:
    """The picture's width and height as an SPS declares them (cropping applied); None for
    what is not an SPS or does not parse."""
    if len(sps) < 4 or nal_type(sps) != SPS:
        return None
    bits = _BitReader(_unescaped(sps[1:]))
    try:
        profile = bits.bits(8)
        bits.bits(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma_format = 1
        if profile in _HIGH_PROFILES:
            chroma_format = bits.ue()
            if chroma_format == 3:
                bits.bit()  # separate_colour_plane_flag
            bits.ue(), bits.ue(), bits.bit()  # bit depths, qpprime_y_zero_transform_bypass
            if bits.bit():  # seq_scaling_matrix_present_flag
                for index in range(8 if chroma_format != 3 else 12):
                    if bits.bit():
                        _skip_scaling_list(bits, 16 if index < 6 else 64)
        bits.ue()  # log2_max_frame_num_minus4
        order_type = bits.ue()
        if order_type == 0:
            bits.ue()  # log2_max_pic_order_cnt_lsb_minus4
        elif order_type == 1:
            bits.bit()
            bits.se(), bits.se()
            for _ in range(min(bits.ue(), 255)):
                bits.se()
        bits.ue(), bits.bit()  # max_num_ref_frames, gaps_in_frame_num_allowed
        width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
        frames_only = bits.bit()
        if not frames_only:
            bits.bit()  # mb_adaptive_frame_field_flag
        bits.bit()  # direct_8x8_inference_flag
        crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.bit() else (0, 0, 0, 0)
    except IndexError:
        return None
    unit_x = 2 if chroma_format in (1, 2) else 1
    unit_y = (2 if chroma_format == 1 else 1) * (2 - frames_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frames_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    return (width, height) if width > 0 and height > 0 else None


def _skip_scaling_list(bits: _BitReader, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + bits.se()) % 256
        last = following or last
