"""Live view's test parts: a camera whose picture carries the time it was made, a
browser-like WHEP offer, an aiortc viewer's first picture, and a JPEG's size."""

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import av
import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

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

    async def watch() -> tuple[int, int]:
        connection = RTCPeerConnection()
        connection.addTransceiver("video", direction="recvonly")
        got: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()

        async def read(track: MediaStreamTrack) -> None:
            frame = await track.recv()
            if not got.done():
                got.set_result((frame.width, frame.height))

        connection.on("track", lambda track: asyncio.ensure_future(read(track)))
        await connection.setLocalDescription(await connection.createOffer())
        async with httpx.AsyncClient(timeout=20) as client:
            answer = await client.post(url, content=connection.localDescription.sdp,
                                       headers={"Content-Type": "application/sdp"})  # fmt: skip
            assert answer.status_code == 201, answer.text
            await connection.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
            try:
                return await asyncio.wait_for(got, 20)
            finally:
                await client.delete(url.split("/whep/")[0] + answer.headers["Location"])
                await connection.close()

    return asyncio.run(watch())


def picture_size(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height
