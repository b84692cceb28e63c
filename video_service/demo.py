"""The main job, live: a synthetic camera pushes RTSP to the edge, the ladder follows a
viewer, and the printed URL plays.

`sparc-video demo` starts, on this machine: Redis (the embedded one where REDIS_URL is
unset), the control API with its origin, console and web player, the RTSP edge and a CPU
worker; creates a site, a camera, an admin and a viewer key and a console admin (its
password printed once) through the API; publishes FFmpeg's
testsrc2 with a clock and a tone over RTSP with the camera's password; asks for playback
with the viewer key (a viewer session, renewed while the demo runs, as a player's steering
polls would); waits for the ladder and checks with ffprobe that the signed URL plays, and that the
console's wall plays the camera live (`demo_console`).
"""

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import m3u8
import uvicorn
from pydantic import SecretStr

from video_service.api.app import create_app
from video_service.api.db import create_database
from video_service.api.edge_adapters import DatabaseDirectory
from video_service.api.live import build_live_services
from video_service.api.maintenance import prepare_database
from video_service.api.recording_store import DatabaseRecordings
from video_service.api.security import generate_api_key
from video_service.api.settings import ApiSettings
from video_service.demo_console import check_wall_plays, make_admin
from video_service.edge.server import Edge
from video_service.edge.settings import EdgeSettings
from video_service.shared.ownership import Ownership
from workers.base.layout import SOURCE, MediaLayout, master_key, playlist_key
from workers.base.ports import free_port
from workers.base.process import run_capture, stop_process
from workers.base.redis_server import (
    embedded_redis_url,
    resolve_redis_url,
    stop_embedded_redis,
)
from workers.base.secrets import secret_box
from workers.base.settings import Settings, shared_settings

CLOCK_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoPorts:
    api: int = 8080
    rtsp: int = 8554
    whep: int = 8889  # live view over WebRTC; 0: any free port


def build_camera_command(ffmpeg: str, url: str, seconds: int | None) -> list[str]:
    video = "testsrc2=size=1280x720:rate=25"
    if CLOCK_FONT.exists():
        video += (
            f",drawtext=fontfile={CLOCK_FONT}:text='%{{localtime}}':fontsize=40"
            ":fontcolor=white:box=1:boxcolor=black@0.6:x=24:y=24"
        )
    length = ["-t", str(seconds)] if seconds else []
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        *length, "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
        "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "5000k", "-g", "50",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
        "-f", "rtsp", "-rtsp_transport", "tcp", url,
    ]  # fmt: skip


def run_demo(workdir: Path, *, ports: DemoPorts, seconds: int | None, once: bool, say: Say) -> str:
    """The demo; the embedded Redis it started (none configured, none running in `workdir`)
    is stopped as it ends, so that it leaves no process behind."""
    workdir = workdir.absolute()
    settings = Settings(state_dir=workdir)
    embedded = workdir / "redis"
    ours = settings.redis_url is None and embedded_redis_url(embedded) is None
    try:
        return _run(workdir, resolve_redis_url(settings), ports=ports, seconds=seconds,
                    once=once, say=say)  # fmt: skip
    finally:
        if ours:
            stop_embedded_redis(embedded)


def _run(
    workdir: Path, redis_url: str, *, ports: DemoPorts, seconds: int | None, once: bool, say: Say
) -> str:
    state = workdir / "state"
    shared = Settings(state_dir=state, redis_url=redis_url)
    admin_key = generate_api_key()
    api_port = ports.api or free_port()
    whep_port = ports.whep or free_port()
    api_settings = ApiSettings(
        **shared_settings(shared),
        public_url=f"http://127.0.0.1:{api_port}",
        admin_key=SecretStr(admin_key),
        rtsp_public_url=f"rtsp://127.0.0.1:{ports.rtsp}",
        whep_url=f"http://127.0.0.1:{whep_port}",
    )
    edge_settings = EdgeSettings(**shared_settings(shared), rtsp_port=ports.rtsp,
                                 rtsp_host="127.0.0.1")  # fmt: skip
    prepare_database(api_settings)
    sessions = create_database(shared.database_url)
    live = build_live_services(sessions, shared)
    app = create_app(api_settings, live=lambda _: live)
    api_url = _start_api(app, api_port)
    say(f"1/7 control API on {api_url} (docs: {api_url}/docs); Redis: {_redacted(redis_url)}")
    directory = DatabaseDirectory(sessions, secret_box(shared))
    recordings = DatabaseRecordings(sessions)
    ownership = Ownership(live.redis, f"demo-edge:{ports.rtsp}", f"http://127.0.0.1:{whep_port}")
    edge = Edge.open(edge_settings, directory, live.events, scheduler=live.scheduler,
                     recordings=recordings, ownership=ownership)  # fmt: skip
    edge_port, stop_edge = _start_edge(edge, ports.rtsp, whep_port)
    say(f"2/7 RTSP edge on rtsp://127.0.0.1:{edge_port}, live view (WHEP) on port {whep_port}")
    worker = _start_worker(redis_url, state, workdir / "worker.log")
    say(f"3/7 CPU worker started (log: {workdir / 'worker.log'})")
    client = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {admin_key}"})
    site = client.post("/api/sites", json={"name": "Demo HQ", "tier": 5}).json()
    camera = client.post("/api/cameras", json={"site_id": site["id"], "name": "Lobby"}).json()
    console_password = make_admin(client)
    viewer_key = client.post(
        "/api/keys", json={"name": "demo viewer", "scope": "viewer", "site_ids": [site["id"]]}
    ).json()["key"]
    viewer_client = httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {viewer_key}"}
    )
    publish_url = camera["publish_url"].replace(
        "rtsp://", f"rtsp://{camera['rtsp_username']}:{camera['rtsp_password']}@"
    )
    publish_url = publish_url.replace(f":{ports.rtsp}/", f":{edge_port}/")
    say(f"4/7 camera {camera['id']} publishing to {camera['publish_url']}")
    publisher = subprocess.Popen(
        build_camera_command(api_settings.ffmpeg, publish_url, seconds),
        stdin=subprocess.DEVNULL,
        stderr=(workdir / "camera.log").open("wb"),
    )
    layout = MediaLayout(shared.media_root)
    stop = threading.Event()
    try:
        _wait_for(lambda: layout.path(playlist_key(camera["id"], SOURCE)).exists(), 30)
        _wait_for(lambda: _online(viewer_client, camera["id"]), 30)
        playback = viewer_client.get(f"/api/cameras/{camera['id']}/playback").json()
        threading.Thread(
            target=_keep_watching,
            args=(viewer_client, camera["id"], playback["session_id"], stop),
            daemon=True,
        ).start()  # fmt: skip
        say("5/7 a viewer asked for playback: the ladder follows the viewer")
        master = layout.path(master_key(camera["id"]))
        _wait_for(lambda: master.exists() and len(m3u8.load(str(master)).playlists) >= 2, 90)
        url = playback["url"]
        _check_plays(api_settings.ffmpeg.replace("ffmpeg", "ffprobe"), url)
        say(f"6/7 the live ladder plays (signed, via the {playback['cdn']}): {url}")
        lag = client.get(f"/api/cameras/{camera['id']}/lag").json()
        say("    publish lag p95: " + ", ".join(f"{k} {v['p95_s']:.2f} s" for k, v in lag.items()))
        picture = check_wall_plays(api_url, "admin", console_password, camera["id"])
        say(f"7/7 the console: {api_url}/ (its wall's tile plays live: {picture})")
        say(f"    sign in as admin with the password {console_password} (shown once)")
        say(f"    the camera's page: {api_url}/cameras/{camera['id']}")
        if not once:
            say("    open it in a browser (or the URL in Safari, VLC, ffplay); Ctrl-C stops")
            _serve_until_interrupted(publisher)
        return str(url)
    finally:
        stop.set()
        stop_process(publisher, grace_s=10)
        stop_edge()
        # Celery's warm shutdown finishes the job in hand; a job still running after the
        # grace is cut off (acknowledged late: the broker hands it out again), and nothing
        # of the worker's group is left running.
        stop_process(worker, grace_s=10, group=True)
        client.close()
        viewer_client.close()


def _online(client: httpx.Client, camera_id: str) -> bool:
    # Ask without opening a session: the camera is online once a segment is recorded.
    return bool(client.get(f"/api/cameras/{camera_id}").status_code == 200) and bool(
        client.get("/api/events", params={"camera_id": camera_id, "type": "camera_online"}).json()[
            "data"
        ]
    )


def _start_api(app: object, port: int) -> str:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    _wait_for(lambda: server.started, 15)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{bound}"


def _start_edge(edge: Edge, port: int, whep_port: int) -> tuple[int, Callable[[], None]]:
    """The edge on a loop of its own; returns its port and what stops it (its publishers,
    recorders and background tasks), so that nothing is left running as the demo exits."""
    ready = threading.Event()
    bound: list[int] = []
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(edge.start(port=port))
        loop.run_until_complete(edge.serve_live_view("127.0.0.1", whep_port))
        bound.append(int(server.sockets[0].getsockname()[1]))
        ready.set()
        loop.run_forever()
        server.close()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError("the RTSP edge did not start")

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(edge.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return bound[0], stop


def _start_worker(redis_url: str, state: Path, log: Path) -> "subprocess.Popen[bytes]":
    """The worker in a process group of its own, so that stopping it stops all of it (the
    Celery pool's children and their FFmpeg)."""
    env = {**os.environ, "REDIS_URL": redis_url, "SPARC_STATE_DIR": str(state)}
    command = [sys.executable, "-m", "video_service.cli", "worker", "--hostname", "demo@local"]
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def _keep_watching(
    client: httpx.Client, camera_id: str, session_id: str, stop: threading.Event
) -> None:
    while not stop.wait(5):
        renewed = client.post(f"/api/cameras/{camera_id}/viewers/{session_id}/renew")
        if renewed.status_code == 404:
            session_id = client.post(f"/api/cameras/{camera_id}/viewers").json()["session_id"]


def _wait_for(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo did not get there within {timeout_s:.0f} s")
        time.sleep(0.2)


def _check_plays(ffprobe: str, url: str) -> None:
    """Open the master and read every rung through the URL, as a player would."""
    probe = [ffprobe, "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0"]
    done = run_capture([*probe, url], timeout_s=60)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the ladder at {url} does not open: {done.stderr_tail}")


def _serve_until_interrupted(publisher: "subprocess.Popen[bytes]") -> None:
    try:
        while publisher.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass


def _redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
