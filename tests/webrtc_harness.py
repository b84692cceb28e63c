"""Live view's test parts: a camera whose picture carries the time it was made, and a
browser-like WHEP offer."""

import asyncio
import subprocess
import sys
from pathlib import Path

from aiortc import RTCPeerConnection

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
