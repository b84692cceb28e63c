"""The demo's console: an admin user with a one-time password, and (`--once`) a check that
the console's wall plays, as its page does it: sign in, load the page, ask for the wall's
playback (WebRTC only) and take the first picture of the tile's WHEP stream (aiortc)."""

import asyncio
import secrets

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

FIRST_PICTURE_S = 20.0


def make_admin(client: httpx.Client, username: str = "admin") -> str:
    """A console admin made with the admin key; its password (shown once)."""
    password = secrets.token_urlsafe(12)
    made = client.post("/api/users", json={"username": username, "password": password,
                                           "role": "admin"})  # fmt: skip
    made.raise_for_status()
    return password


def check_wall_plays(api_url: str, username: str, password: str, camera_id: str) -> str:
    """Sign in as the console does, and watch the camera's wall tile: its first picture's
    size (RuntimeError saying what failed)."""
    with httpx.Client(base_url=api_url, headers={"Origin": api_url}, timeout=30) as page:
        signed = page.post("/api/session", json={"username": username, "password": password})
        if signed.status_code != 200:
            raise RuntimeError(f"signing in to the console failed: {signed.text}")
        shell = page.get("/wall")
        if shell.status_code != 200 or 'id="root"' not in shell.text:
            raise RuntimeError(f"the console's page is not served: {shell.text[:200]}")
        tile = page.get(f"/api/cameras/{camera_id}/playback", params={"webrtc_only": "true"})
        if tile.status_code != 200 or not tile.json().get("webrtc"):
            raise RuntimeError(f"the wall's tile has no live view: {tile.text[:200]}")
        width, height = asyncio.run(first_picture(tile.json()["webrtc"]))
        page.delete("/api/session")
    return f"{width}x{height}"


async def first_picture(whep_url: str) -> tuple[int, int]:
    """The size of the first picture an aiortc viewer decodes from a WHEP URL (the demo's
    check and the tests' viewer); RuntimeError when the edge refuses."""
    connection = RTCPeerConnection()
    connection.addTransceiver("video", direction="recvonly")
    got: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()

    async def read(track: MediaStreamTrack) -> None:
        frame = await track.recv()
        if isinstance(frame, VideoFrame) and not got.done():
            got.set_result((frame.width, frame.height))

    connection.on("track", lambda track: asyncio.ensure_future(read(track)))
    await connection.setLocalDescription(await connection.createOffer())
    async with httpx.AsyncClient(timeout=20) as client:
        answer = await client.post(whep_url, content=connection.localDescription.sdp,
                                   headers={"Content-Type": "application/sdp"})  # fmt: skip
        try:
            if answer.status_code != 201:
                raise RuntimeError(f"the edge refused live view: {answer.text[:200]}")
            await connection.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
            return await asyncio.wait_for(got, FIRST_PICTURE_S)
        finally:
            if "Location" in answer.headers:
                await client.delete(whep_url.split("/whep/")[0] + answer.headers["Location"])
            await connection.close()
