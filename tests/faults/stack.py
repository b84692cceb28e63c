"""A whole pipeline of real processes for the fault suite: a private Redis server (so that it
may be killed: the machine's own is shared), `sparc-video serve`, `sparc-video edge` and
`sparc-video worker`, sharing a state directory, and FFmpeg publishers. Each part can be
killed with SIGKILL and started again."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import m3u8

from tests.edge_harness import publisher
from tests.waiting import eventually
from tests.workers_harness import WorkerProcess, start_worker
from workers.base.ports import free_port
from workers.base.process import stop_process
from workers.base.redis_server import redis_server_binary

ADMIN_KEY = "sv_fault-admin-key-0123456789"
CLI = [sys.executable, "-m", "video_service.cli"]
SEGMENT_S = 2.0


class RedisServer:
    """redis-server on loopback; `aof`: an append-only file, synced every second."""

    def __init__(self, directory: Path, aof: bool) -> None:
        self.directory = directory
        self.port = free_port()
        self.aof = aof
        directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--dir", str(self.directory),
            "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        eventually(lambda: _answers(self.port), 10)

    def kill(self) -> None:
        assert self.process is not None
        stop_process(self.process, first=signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@dataclass
class Stack:
    work: Path
    redis: RedisServer
    extra_env: dict[str, str] = field(default_factory=dict)
    api: subprocess.Popen[bytes] | None = None
    edge: subprocess.Popen[bytes] | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    publishers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api_port, self.rtsp_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "SPARC_STATE_DIR": str(self.work / "state"),
            "SPARC_ADMIN_KEY": ADMIN_KEY,
            "SPARC_SEGMENT_SECONDS": str(SEGMENT_S),
            "SPARC_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            "SPARC_ALLOWED_ROOTS": str(self.work),
            # Ports of their own (tests run side by side): any free one, or none.
            "SPARC_WHEP_PORT": "0",
            "SPARC_METRICS_PORT": "0",
            **self.extra_env,
        }
        self.admin = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=10,
        )

    @property
    def media(self) -> Path:
        return Path(self.env.get("SPARC_MEDIA_ROOT", self.work / "state" / "media")) / "live"

    def start_api(self) -> None:
        self.api = self._spawn(["serve", "--port", str(self.api_port)], "api")
        eventually(self._api_answers, 30)

    def start_edge(self) -> None:
        self.edge = self._spawn(["edge", "--port", str(self.rtsp_port)], "edge")
        eventually(self._edge_listens, 30)

    def start_worker(self, name: str = "faults") -> WorkerProcess:
        worker = start_worker(name, {k: v for k, v in self.env.items()}, self.work)
        self.workers.append(worker)
        return worker

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        with (self.work / f"{name}.log").open("ab") as log:
            return subprocess.Popen([*CLI, *args], env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def _api_answers(self) -> bool:
        try:
            return self.admin.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def _edge_listens(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.rtsp_port)) == 0

    def camera(self, tier: int = 2) -> dict[str, object]:
        site = self.admin.post("/api/sites", json={"name": "HQ", "tier": tier}).json()["id"]
        answer = self.admin.post("/api/cameras", json={"site_id": site, "name": "Gate"})
        assert answer.status_code == 201, answer.text
        camera = dict(answer.json())
        viewer = self.admin.post("/api/keys", json={"name": "v", "scope": "viewer",
                                                    "site_ids": [site]}).json()  # fmt: skip
        camera["viewer_key"] = viewer["key"]
        return camera

    def publish(self, camera: dict[str, object], seconds: float, **options: object) -> None:
        url = (f"rtsp://{camera['rtsp_username']}:{camera['rtsp_password']}@127.0.0.1:"
               f"{self.rtsp_port}/cam/{camera['id']}")  # fmt: skip
        command = publisher(url, seconds, **options)  # type: ignore[arg-type]
        self.publishers.append(subprocess.Popen(command, stderr=subprocess.DEVNULL))

    def source(self, camera: dict[str, object]) -> Path:
        return self.media / str(camera["id"]) / "source" / "index.m3u8"

    def rung(self, camera: dict[str, object], name: str = "240p") -> Path:
        return self.media / str(camera["id"]) / name / "index.m3u8"

    def kill(self, process: subprocess.Popen[bytes] | None) -> None:
        """As a machine that dies: SIGKILL, to the process and all it started."""
        if process is not None:
            stop_process(process, first=signal.SIGKILL, group=True)

    def close(self) -> None:
        for process in self.publishers:
            stop_process(process, first=signal.SIGKILL)
        for worker in self.workers:
            worker.stop()
        for process in (self.edge, self.api):
            if process is not None:
                stop_process(process, first=signal.SIGINT, grace_s=30, group=True)
        self.admin.close()
        self.redis.stop()


class Viewer:
    """A player's part in the ladder: a viewer session kept alive by renewing it, opened
    again when it is gone (as a player asks for playback again)."""

    def __init__(self, stack: Stack, camera: dict[str, object]) -> None:
        self._client = httpx.Client(
            base_url=f"http://127.0.0.1:{stack.api_port}",
            headers={"Authorization": f"Bearer {camera['viewer_key']}"},
            timeout=5,
        )
        self._camera = camera["id"]
        self._session: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._keep()
            except httpx.TransportError:
                continue

    def _keep(self) -> None:
        base = f"/api/cameras/{self._camera}/viewers"
        renew = f"{base}/{self._session}/renew"
        if self._session is not None and self._client.post(renew).status_code == 200:
            return
        opened = self._client.post(base)
        if opened.status_code == 201:
            self._session = opened.json()["session_id"]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.close()


def listed(playlist: Path) -> list[m3u8.Segment]:
    try:
        return list(m3u8.load(str(playlist)).segments)
    except (FileNotFoundError, ValueError):
        return []


def measure(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Seconds until `check` holds (an AssertionError past `timeout`)."""
    started = time.monotonic()
    eventually(check, timeout, every=step)
    return time.monotonic() - started
