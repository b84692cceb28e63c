"""The live-view relay's pieces, against independent ones: libx264's frames packetized by
aiortc's own H.264 packetizer (FU-A and STAP-A) come back whole from our depacketizer; a lost
packet drops frames until the next IDR, which carries SPS and PPS; B-frames are told apart;
the interleaved reader splits RTP from keep-alives across any chunk boundary; a viewer that
stops reading skips to a keyframe while another misses nothing."""

import asyncio
import base64
import struct
import subprocess
from pathlib import Path

import pytest
from aiortc.codecs.h264 import H264Encoder

from video_service.edge.errors import FeedEnded, LiveViewRefused
from video_service.edge.live_view.fanout import LiveFeed
from video_service.edge.live_view.h264 import (
    AUD,
    PPS,
    SPS,
    AccessUnit,
    Depacketizer,
    nal_type,
    parse_rtp,
    sps_size,
    starts_b_slice,
)
from video_service.edge.live_view.tap import (
    InterleavedReader,
    audio_track,
    setup_channel,
    video_track,
)
from video_service.edge.rtsp import Message, response

FRAME_TICKS = 3000  # 90 kHz at 30 fps


def encoded_frames(tmp_path: Path, *, b_frames: int = 0, frames: int = 30) -> list[list[bytes]]:
    """libx264's frames (NAL units each, AUDs removed), split at the AUDs FFmpeg inserts."""
    out = tmp_path / f"stream{b_frames}.h264"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=320x180:rate=30", "-frames:v", str(frames), "-c:v", "libx264",
         "-g", "10", "-bf", str(b_frames), "-x264-params", "scenecut=0",
         "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    nals = [n.lstrip(b"\x00") for n in out.read_bytes().split(b"\x00\x00\x01") if n.strip(b"\x00")]
    units: list[list[bytes]] = []
    for nal in nals:
        nal = nal.rstrip(b"\x00")  # the next start code's leading zero
        if nal_type(nal) == AUD:
            units.append([])
        else:
            units[-1].append(nal)
    return units


def rtp(payload: bytes, sequence: int, timestamp: int, marker: bool) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, sequence & 0xFFFF,
                       timestamp & 0xFFFFFFFF, 0x1234) + payload  # fmt: skip


def packetized(units: list[list[bytes]], start_sequence: int = 65530) -> list[bytes]:
    """Each frame through aiortc's packetizer, with RTP headers: the marker on its last."""
    packets = []
    sequence = start_sequence
    for index, nals in enumerate(units):
        payloads = H264Encoder._packetize(iter(nals))
        for position, payload in enumerate(payloads):
            last = position == len(payloads) - 1
            packets.append(rtp(payload, sequence, 4_294_960_000 + index * FRAME_TICKS, last))
            sequence += 1
    return packets


def depacketized(packets: list[bytes], parameter_sets: tuple[bytes, ...] = ()) -> list[AccessUnit]:
    depacketizer = Depacketizer(parameter_sets)
    return [unit for data in packets for unit in depacketizer.push(parse_rtp(data))]


def test_frames_come_back_whole_across_fu_a_stap_a_and_the_sequence_wrap(tmp_path: Path) -> None:
    units = encoded_frames(tmp_path)
    assert any(len(n) > 1200 for u in units for n in u)  # FU-A is exercised
    packets = packetized(units)
    assert any(parse_rtp(p).payload[0] & 0x1F == 24 for p in packets)  # and STAP-A
    back = depacketized(packets)
    assert [list(u.nals) for u in back] == units
    assert [u.keyframe for u in back] == [i % 10 == 0 for i in range(30)]
    assert all(nal_type(u.nals[0]) == SPS and nal_type(u.nals[1]) == PPS
               for u in back if u.keyframe)  # fmt: skip
    assert not any(u.b_frame for u in back)
    assert (back[1].timestamp - back[0].timestamp) % 2**32 == FRAME_TICKS
    assert back[-1].annex_b().startswith(b"\x00\x00\x00\x01")


def test_a_lost_packet_drops_frames_until_the_next_idr(tmp_path: Path) -> None:
    units = encoded_frames(tmp_path)
    packets = packetized(units)
    # The first packet of frame 3 is lost.
    lost_at = sum(len(H264Encoder._packetize(iter(u))) for u in units[:3])
    back = depacketized(packets[:lost_at] + packets[lost_at + 1 :])
    numbers = [((u.timestamp - back[0].timestamp) % 2**32) // FRAME_TICKS for u in back]
    assert numbers == [0, 1, 2, *range(10, 30)]
    assert back[3].keyframe


def test_a_keyframe_without_parameter_sets_gets_them_from_the_sdp(tmp_path: Path) -> None:
    units = encoded_frames(tmp_path)
    sets = tuple(n for n in units[0] if nal_type(n) in (SPS, PPS))
    stripped = [[n for n in u if nal_type(n) not in (SPS, PPS)] for u in units]
    sprop = ",".join(base64.b64encode(n).decode() for n in sets)
    sdp = ("v=0\r\nm=audio 0 RTP/AVP 97\r\na=control:streamid=1\r\n"
           "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
           f"a=fmtp:96 packetization-mode=1; sprop-parameter-sets={sprop}\r\n"
           "a=control:streamid=0\r\n")  # fmt: skip
    track = video_track(sdp)
    assert track is not None and track.codec == "H264" and track.payload_type == 96
    assert track.parameter_sets == sets and track.control == "streamid=0"
    back = depacketized(packetized(stripped), track.parameter_sets)
    assert back[0].nals[:2] == sets and back[10].nals[:2] == sets
    # The SETUP that names the video track gives its interleaved channel.
    setup = Message("SETUP rtsp://127.0.0.1:1/cam/x/streamid=0 RTSP/1.0",
                    [("Transport", "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record")])  # fmt: skip
    other = Message("SETUP rtsp://127.0.0.1:1/cam/x/streamid=1 RTSP/1.0",
                    [("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")])  # fmt: skip
    assert setup_channel(setup, track) == 2 and setup_channel(other, track) is None
    assert video_track(sdp.replace("H264/90000", "H265/90000")).codec == "H265"  # type: ignore[union-attr]
    assert video_track("v=0\r\nm=audio 0 RTP/AVP 0\r\n") is None
    # Audio: static payload types need no rtpmap; others name their clock.
    mulaw = audio_track("v=0\r\nm=audio 0 RTP/AVP 0\r\na=control:streamid=1\r\n")
    assert mulaw is not None and (mulaw.codec, mulaw.clock_rate) == ("PCMU", 8000)
    opus = audio_track("m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n")
    assert opus is not None and (opus.codec, opus.clock_rate) == ("OPUS", 48000)
    aac = audio_track(sdp.replace("m=audio 0 RTP/AVP 97", "m=audio 0 RTP/AVP 97\r\n"
                                  "a=rtpmap:97 MPEG4-GENERIC/44100/2"))  # fmt: skip
    assert aac is not None and aac.codec == "MPEG4-GENERIC" and aac.clock_rate == 44100


def test_b_frames_are_told_apart(tmp_path: Path) -> None:
    packets = packetized(encoded_frames(tmp_path, b_frames=2))
    back = depacketized(packets)
    assert any(u.b_frame for u in back) and not any(u.b_frame for u in back if u.keyframe)
    # From a packet's first bytes alone (what an unwatched camera is checked by).
    starting = [starts_b_slice(parse_rtp(p).payload) for p in packets]
    assert sum(starting) == sum(u.b_frame for u in back)
    plain = packetized(encoded_frames(tmp_path))
    assert not any(starts_b_slice(parse_rtp(p).payload) for p in plain)


def test_interleaved_frames_are_split_from_keep_alives_at_any_boundary() -> None:
    keep_alive = b"GET_PARAMETER rtsp://x/y RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 4\r\n\r\nping"
    stream = b"$\x00\x00\x05hello" + keep_alive + b"$\x01\x00\x03abc" + b"$\x00\x00\x00"
    for size in (1, 2, 3, 7, len(stream)):
        requests: list[bytes] = []
        reader = InterleavedReader(requests.append)
        frames = [f for i in range(0, len(stream), size) for f in reader.feed(stream[i : i + size])]
        assert frames == [(0, b"hello"), (1, b"abc"), (0, b"")], size
        assert requests == [keep_alive], size  # whole, body included: a sub-stream answers it
    with pytest.raises(ValueError, match="endless head"):
        InterleavedReader().feed(b"x" * 300_000)
    endless_body = b"GET_PARAMETER rtsp://x RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n"
    with pytest.raises(ValueError, match="not interleaved RTP"):
        InterleavedReader().feed(endless_body + b"x" * 300_000)


def test_a_viewer_that_stops_reading_skips_to_a_keyframe_and_slows_no_one(tmp_path: Path) -> None:
    async def run() -> None:
        feed = LiveFeed("c" * 32)
        fast, slow = feed.join(limit=5), feed.join(limit=5)
        units = depacketized(packetized(encoded_frames(tmp_path)))
        got: list[AccessUnit] = []
        for unit in units[3:25]:  # joined mid-GOP: both start on the next keyframe
            feed.publish(unit)
            while fast.queued:
                got.append(await fast.next())
        assert got == units[10:25] and fast.skips == 0
        # The other read nothing: five frames behind at frame 15, it dropped what it held
        # and waited for the keyframe at 20.
        assert slow.skips == 1 and slow.queued == 5
        assert (await slow.next()) is units[20]
        feed.close()
        with pytest.raises(FeedEnded, match="stopped publishing"):
            await fast.next()
        with pytest.raises(LiveViewRefused):
            feed.join()
        refused = LiveFeed("d" * 32)
        refused.refuse("B-frames")
        with pytest.raises(LiveViewRefused, match="B-frames"):
            refused.join()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("size", "profile", "pixels"),
    [("640x360", "baseline", "yuv420p"), ("1280x720", "high", "yuv420p"),
     ("1920x1080", "main", "yuv420p"), ("638x358", "high", "yuv420p"),
     ("320x240", "high422", "yuv422p"), ("352x288", "high444", "yuv444p")],
)  # fmt: skip
def test_the_picture_size_is_read_from_the_sps(
    size: str, profile: str, pixels: str, tmp_path: Path
) -> None:
    """Cropped sizes (1080 is 68 macroblocks, cropped), high profiles with their chroma
    formats, and an interlaced SPS; against what FFmpeg was asked to encode."""
    out = tmp_path / "one.h264"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={size}:rate=5", "-frames:v", "1", "-c:v", "libx264", "-profile:v",
         profile, "-pix_fmt", pixels, "-f", "h264", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    nals = [n.strip(b"\x00") for n in out.read_bytes().split(b"\x00\x00\x01")]
    sps = next(n for n in nals if n and nal_type(n) == SPS)
    width, height = (int(n) for n in size.split("x"))
    assert sps_size(sps) == (width, height)
    assert sps_size(sps[:6]) is None  # cut short
    assert sps_size(b"\x68" + sps[1:]) is None  # a PPS


def test_an_interlaced_sps_counts_fields_twice(tmp_path: Path) -> None:
    out = tmp_path / "fields.h264"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=720x576:rate=25", "-frames:v", "2", "-c:v", "libx264", "-flags",
         "+ildct+ilme", "-x264-params", "interlaced=1", "-f", "h264", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    sps = next(n.strip(b"\x00") for n in out.read_bytes().split(b"\x00\x00\x01")
               if n.strip(b"\x00") and nal_type(n.strip(b"\x00")) == SPS)  # fmt: skip
    assert sps_size(sps) == (720, 576)


def test_a_request_between_the_frames_is_bounded() -> None:
    """A Content-Length too long to be one, or a head that never ends, is a broken stream
    (not an exception of another kind, not a rescan of 256 KiB at every byte)."""
    digits = b"GET_PARAMETER rtsp://x RTSP/1.0\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n"
    requests: list[bytes] = []
    reader = InterleavedReader(requests.append)
    assert reader.feed(digits) == [] and requests == [digits]  # no body length: a head alone
    with pytest.raises(ValueError, match="endless head"):
        InterleavedReader().feed(b"GET_PARAMETER " + b"x" * 20_000)


def test_an_answer_echoes_only_a_numeric_cseq() -> None:
    assert b"CSeq: 0\r\n" in response(200, "OK", "1\nX-Injected: yes").encode()
    assert b"CSeq: 7\r\n" in response(200, "OK", "7").encode()
