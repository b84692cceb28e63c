"""A real RTSP edge on its own event loop in a thread, FFmpeg publishers, and waiting on a
condition: for the edge, ladder and delivery tests."""

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.api_harness import Api
from video_service.api.recording_store import DatabaseRecordings
from video_service.edge.scheduler import LadderScheduler
from video_service.edge.server import Edge
from video_service.edge.settings import EdgeSettings
from video_service.shared.ownership import Ownership
from workers.base.layout import MediaLayout


@dataclass
class RunningEdge:
    edge: Edge
    port: int
    loop: asyncio.AbstractEventLoop
    settings: EdgeSettings

    def url(self, camera: dict[str, object], password: object = None) -> str:
        secret = camera["rtsp_password"] if password is None else password
        return f"rtsp://{camera['rtsp_username']}:{secret}@127.0.0.1:{self.port}/cam/{camera['id']}"

    def source(self, camera: dict[str, object]) -> Path:
        return MediaLayout(self.settings.media_root).source_dir(str(camera["id"]))


def start_edge(
    api: Api,
    scheduler: LadderScheduler | None = None,
    ownership: Ownership | None = None,
    **overrides: object,
) -> Iterator[RunningEdge]:
    settings = api.edge_settings(**{"request_timeout_s": 1.5, **overrides})
    recordings = DatabaseRecordings(api.sessions)
    edge = Edge.open(settings, *api.edge_collaborators(), scheduler=scheduler,
                     recordings=recordings, ownership=ownership)  # fmt: skip
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(edge.start(host="127.0.0.1", port=0))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    server = holder["server"]
    yield RunningEdge(edge, int(server.sockets[0].getsockname()[1]), loop, settings)

    async def shutdown() -> None:
        server.close()
        await edge.close()
        await server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(20)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def publisher(
    url: str,
    seconds: float,
    size: str = "320x180",
    rate: int = 10,
    gop_s: int = 2,
    audio: str = "aac",
) -> list[str]:
    """`audio`: FFmpeg's encoder (`aac`, `pcm_mulaw` at 8 kHz mono)."""
    sound = ["-c:a", audio] + (["-ar", "8000", "-ac", "1"] if audio.startswith("pcm_") else [])
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop_s * rate),
        *sound, "-f", "rtsp", "-rtsp_transport", "tcp", url,
    ]  # fmt: skip


def publish(url: str, seconds: float, **options: object) -> subprocess.CompletedProcess[str]:
    command = publisher(url, seconds, **options)  # type: ignore[arg-type]
    return subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)


def events(api: Api, **params: str) -> list[dict[str, object]]:
    found = api.client().get("/api/events", params={"limit": 100, **params}).json()["data"]
    return list(found)


CAMERA_SERVER = Path(__file__).parent / "rtsp_camera.py"


def start_camera(port: int) -> "subprocess.Popen[str]":
    """tests/rtsp_camera.py on `port`, asking for admin / hunter2 (Digest)."""
    server = subprocess.Popen(
        ["/usr/bin/python3", str(CAMERA_SERVER), str(port)],
        env={**os.environ, "CAMERA_USER": "admin", "CAMERA_PASSWORD": "hunter2"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


def stop_camera(server: "subprocess.Popen[str]") -> None:
    server.kill()
    server.wait()
    if server.stdout is not None:
        server.stdout.close()
