"""One keyframe into a still picture: decoded with PyAV (FFmpeg's H.264 decoder, which
aiortc brings), scaled to at most `MAX_WIDTH` wide (its shape kept, even sizes), and encoded
as a JPEG. No other frame is decoded."""

import fractions

import av

MAX_WIDTH = 640
QUALITY = 5  # MJPEG's qscale: 2 best, 31 worst


def still_jpeg(annex_b: bytes, max_width: int = MAX_WIDTH) -> bytes | None:
    """The JPEG of a keyframe (H.264 in Annex B, its SPS and PPS in front); None if it does
    not decode."""
    try:
        decoder = av.CodecContext.create("h264", "r")
        frames = [*decoder.decode(av.Packet(annex_b)), *decoder.decode(None)]  # None: flush
        if not frames:
            return None
        frame = frames[0]
        width = min(max_width, frame.width) // 2 * 2
        height = max(2, round(frame.height * width / frame.width) // 2 * 2)
        small = frame.reformat(width=width, height=height, format="yuvj420p")
        encoder = av.CodecContext.create("mjpeg", "w")
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
        encoder.time_base = fractions.Fraction(1, 25)
        encoder.options = {"qmin": str(QUALITY), "qmax": str(QUALITY)}
        packets = [*encoder.encode(small), *encoder.encode(None)]
        return b"".join(bytes(packet) for packet in packets) or None
    except (av.error.FFmpegError, ValueError):
        return None
