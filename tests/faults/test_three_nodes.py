"""Three "machines" that share nothing but Redis, an S3 wire-protocol server (moto) and the
control plane's PostgreSQL: node 1 runs edge 1 and worker 1, node 2 edge 2, worker 2 and API
2, node 3 API 1; every process has its own state and media folders. Four cameras publish,
two to each edge. A viewer on API 2 watches a camera edge 1 records: its first request gets
every rung (the edge's planned master), made by workers that never saw edge 1's disk. Then
edge 1 is killed with SIGKILL: its cameras publish again to edge 2 (as cameras behind a load
balancer reconnect) within 10 s, the player (hls.js in Chromium) plays on across the
discontinuity, and every segment edge 1 had finished is in the bucket.
Each process's log is in the test's folder."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import boto3
import httpx
import m3u8
import pytest
import redis

from tests.api_harness import create_postgres_database, drop_postgres_database
from tests.conftest import TEST_REDIS_URL
from tests.edge_harness import publisher, wait_until
from tests.faults.stack import CLI, SEGMENT_S
from tests.moto_harness import AWS_ENV, BUCKET, CREDENTIALS, moto_endpoint
from tests.workers_harness import WorkerProcess, start_worker
from video_service.shared.ownership import owner_of
from workers.base.ports import free_port

ADMIN_KEY = "sv_nodes-admin-key-0123456789"
DRIVER = Path(__file__).parent.parent / "browser" / "play_live.mjs"
WATCH_S = 45


@dataclass
class Cluster:
    work: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)

    def folder(self, node: str, process: str) -> Path:
        folder = self.work / node / process
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def process_env(self, node: str, process: str, **extra: str) -> dict[str, str]:
        folder = self.folder(node, process)
        return {**self.env, "SPARC_STATE_DIR": str(folder), "SPARC_ALLOWED_ROOTS": str(folder),
                **extra}  # fmt: skip

    def start(self, name: str, node: str, args: list[str], **extra: str) -> None:
        with (self.work / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [*CLI, *args], env=self.process_env(node, name, **extra), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def start_worker(self, name: str, node: str) -> None:
        env = self.process_env(node, name)
        self.workers.append(start_worker(name, env, self.work))

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


class Camera:
    """A camera behind a load balancer: publishes to its edge and, when the connection
    drops, publishes again a second later to the edge still there."""

    def __init__(self, camera: dict[str, str], edges: list[int]) -> None:
        self.camera = camera
        self.edges = edges
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def url(self, port: int) -> str:
        return (f"rtsp://{self.camera['rtsp_username']}:{self.camera['rtsp_password']}"
                f"@127.0.0.1:{port}/cam/{self.camera['id']}")  # fmt: skip

    def _run(self) -> None:
        while not self._stop.is_set():
            command = publisher(self.url(self.edges[0]), 300, size="640x360")
            self._process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
            self._process.wait()
            if len(self.edges) > 1:
                self.edges = self.edges[1:]  # that edge is gone: the balancer sends it on
            self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.kill()
        self._thread.join(10)


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    yield from moto_endpoint()


def test_three_nodes_share_only_redis_and_the_bucket_and_outlive_an_edge(
    tmp_path: Path, s3_endpoint: str, redis_client: redis.Redis
) -> None:
    database = create_postgres_database()
    env = {**os.environ, **AWS_ENV, "REDIS_URL": TEST_REDIS_URL, "SPARC_DATABASE_URL": database,
           "SPARC_ADMIN_KEY": ADMIN_KEY, "SPARC_SEGMENT_SECONDS": str(SEGMENT_S),
           "SPARC_LIVE_WINDOW": "5", "SPARC_S3_BUCKET": BUCKET,
           "SPARC_S3_ENDPOINT_URL": s3_endpoint, "SPARC_WHEP_PORT": "0",
           "SPARC_METRICS_PORT": "0"}  # fmt: skip
    cluster = Cluster(tmp_path, env)
    api_1, api_2, rtsp_1, rtsp_2 = free_port(), free_port(), free_port(), free_port()
    cameras: list[Camera] = []
    clients: list[httpx.Client] = []
    driver: subprocess.Popen[str] | None = None
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    try:
        # One API first: it creates the database's tables.
        cluster.start("api-1", "node-3", ["serve", "--port", str(api_1)],
                      SPARC_PUBLIC_URL=f"http://127.0.0.1:{api_1}")  # fmt: skip
        admin = httpx.Client(base_url=f"http://127.0.0.1:{api_1}", timeout=10,
                             headers={"Authorization": f"Bearer {ADMIN_KEY}"})  # fmt: skip
        clients.append(admin)
        wait_until(lambda: _answers(admin), 40)
        cluster.start("api-2", "node-2", ["serve", "--port", str(api_2)],
                      SPARC_PUBLIC_URL=f"http://127.0.0.1:{api_2}")  # fmt: skip
        cluster.start("edge-1", "node-1", ["edge", "--port", str(rtsp_1)])
        cluster.start("edge-2", "node-2", ["edge", "--port", str(rtsp_2)])
        cluster.start_worker("worker-1", "node-1")
        cluster.start_worker("worker-2", "node-2")
        wait_until(lambda: _listens(rtsp_1) and _listens(rtsp_2) and _listens(api_2), 40)
        edge_1 = f"{socket.gethostname()}:{rtsp_1}"
        edge_2 = f"{socket.gethostname()}:{rtsp_2}"

        site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()["id"]
        made = [admin.post("/api/cameras", json={"site_id": site, "name": f"cam {n}"}).json()
                for n in range(4)]  # fmt: skip
        key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                            "site_ids": [site]}).json()["key"]  # fmt: skip
        cameras = [Camera(cam, [rtsp_1, rtsp_2] if n < 2 else [rtsp_2])
                   for n, cam in enumerate(made)]  # fmt: skip
        ids = [str(cam["id"]) for cam in made]
        owners = {cam: edge_1 if n < 2 else edge_2 for n, cam in enumerate(ids)}

        def owned_as_published() -> bool:
            found = {cam: owner_of(redis_client, cam) for cam in ids}
            return all(o is not None and o.edge == owners[c] for c, o in found.items())

        def stored(prefix: str) -> dict[str, str]:
            listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
            return {item["Key"].rsplit("/", 1)[1]: item["ETag"] for item in listing}

        watched = ids[0]
        live = f"live/{watched}"
        wait_until(owned_as_published, 30)
        wait_until(lambda: all(len(stored(f"live/{c}/source/")) >= 3 for c in ids), 40)

        # API 2 (no disk, no recording here), before any worker ran for the camera: every
        # rung from the first request.
        viewer = httpx.Client(base_url=f"http://127.0.0.1:{api_2}", timeout=10,
                              headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        clients.append(viewer)
        playback = viewer.get(f"/api/cameras/{watched}/playback")
        assert playback.status_code == 200, playback.text
        assert not stored(f"{live}/240p/"), "no worker has run for this camera yet"
        master = viewer.get(playback.json()["url"])
        assert master.status_code == 200, master.text
        variants = m3u8.loads(master.text).playlists
        rungs = [urlsplit(v.uri).path.rsplit("/", 2)[1] for v in variants]
        assert rungs == ["source", "240p"], rungs
        for variant in variants:  # each there (the 240p one empty until its first segment)
            listed = viewer.get(urljoin(playback.json()["url"], variant.uri))
            assert listed.status_code == 200, listed.text

        # The player on API 2 (hls.js in Chromium): its viewer session starts the ladder.
        driver = subprocess.Popen(
            ["node", str(DRIVER), f"http://127.0.0.1:{api_2}/player/", key, watched,
             str(WATCH_S), "samples"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_until(lambda: len(stored(f"{live}/240p/")) >= 3, 60)  # 2 segments + playlist
        for node, process in (("node-1", "worker-1"), ("node-2", "worker-2"),
                              ("node-1", "edge-1"), ("node-2", "edge-2")):  # fmt: skip
            rung_dir = tmp_path / node / process / "media" / live / "240p"
            assert not rung_dir.exists(), f"{rung_dir}: a rung on a disk"
        time.sleep(6)  # the player plays a while on what edge 1 records

        # Edge 1 dies. Its cameras come back through edge 2.
        finished = {
            cam: [s.uri for s in m3u8.load(str(tmp_path / "node-1" / "edge-1" / "media" / "live"
                                                / cam / "source" / "index.m3u8")).segments]
            for cam in ids[:2]
        }  # fmt: skip
        cluster.kill("edge-1")
        killed = time.time()
        moved = time.monotonic()
        wait_until(lambda: all((o := owner_of(redis_client, c)) is not None and o.edge == edge_2
                               for c in ids[:2]), 10)  # fmt: skip
        moved_s = time.monotonic() - moved
        out, _ = driver.communicate(timeout=WATCH_S + 120)
        seen = json.loads(out.strip().splitlines()[-1])
        print(
            f"edge 1 killed: its cameras owned by edge 2 after {moved_s:.1f} s; player "
            f"advanced {seen.get('advanced', 0):.1f} s in {WATCH_S} s, rung {seen.get('rung')}"
        )
        assert seen["playing"] and seen["state"] == "playing", seen
        before = [s for s in seen["samples"] if s["at"] < killed * 1000]
        after = [s for s in seen["samples"] if s["at"] > (killed + 15) * 1000]
        assert before and after, seen["samples"]
        assert after[-1]["time"] > before[-1]["time"] + 5, seen["samples"]  # it played on
        assert not [e for e in seen["errors"] if "playback failed" in e], seen["errors"]

        # Nothing edge 1 had finished is missing; the recording goes on after a discontinuity.
        for cam, names in finished.items():
            held = stored(f"live/{cam}/source/")
            assert set(names) <= set(held), (cam, sorted(set(names) - set(held)))
        playlist = s3.get_object(Bucket=BUCKET, Key=f"{live}/source/index.m3u8")
        text = playlist["Body"].read().decode()
        numbers = [int(s.uri[4:10]) for s in m3u8.loads(text).segments]
        assert numbers == sorted(set(numbers)), text
        assert max(numbers) > max(int(n[4:10]) for n in finished[watched]), text
    finally:
        s3.close()
        if driver is not None and driver.poll() is None:
            driver.kill()
            driver.communicate()
        for client in clients:
            client.close()
        for camera in cameras:
            camera.close()
        cluster.close()
        drop_postgres_database(database)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False
