"""Live view's test parts: a camera whose picture carries the time it was made, a
browser-like WHEP offer, an aiortc viewer's first picture, and a JPEG's size."""

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import av
from aiortc import RTCPeerConnection

from video_service.demo_console import first_picture

ROOT = Path(__file__).parent.parent


def clock_camera(url: str, seconds: float, b_frames: int = 0) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.clock_camera", url, str(seconds),
               "--b-frames", str(b_frames)]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT)


def offer_sdp(audio: bool = False) -> str:
    """A browser-like offer (aiortc's own: receive-only video, VP8 and H.264; audio)."""

    async def make() -> str:
        connection = RTCPeerConnection()
        connection.addTransceiver("video", direction="recvonly")
        if audio:
            connection.addTransceiver("audio", direction="recvonly")
        await connection.setLocalDescription(await connection.createOffer())
        sdp = str(connection.localDescription.sdp)
        await connection.close()
        return sdp

    return asyncio.run(make())


def first_frame_size(url: str) -> tuple[int, int]:
    """The size of the first picture an aiortc viewer decodes from a WHEP URL."""
    return asyncio.run(first_picture(url))


def picture_size(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height
