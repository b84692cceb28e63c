"""Three "machines" that share nothing but Redis, an S3 wire-protocol server (moto) and the
control plane's PostgreSQL: node 1 runs edge 1 and worker 1, node 2 edge 2, worker 2 and API
2, node 3 API 1; every process has its own state and media folders. Four cameras publish,
two to each edge. A viewer on API 2 watches a camera edge 1 records: its first request gets
every rung (the edge's planned master), made by workers that never saw edge 1's disk. Then
edge 1 is killed with SIGKILL: its cameras publish again to edge 2 (as cameras behind a load
balancer reconnect) within 10 s, the player (hls.js in Chromium) plays on across the
discontinuity (the console's camera page, live over HLS only), and every segment edge 1 had
finished is in the bucket.
Each process's log is in the test's folder."""

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import httpx
import m3u8
import pytest
import redis

from tests.api_harness import PASSWORD, create_postgres_database, drop_postgres_database
from tests.console_page import browser_env, camera_page_command, seen_by_driver
from tests.edge_harness import publisher
from tests.environment import TEST_REDIS_URL
from tests.faults.stack import CLI, SEGMENT_S
from tests.moto_harness import AWS_ENV, BUCKET, CREDENTIALS
from tests.processes import Children
from tests.waiting import eventually
from tests.workers_harness import WorkerProcess, start_worker
from video_service.shared.ownership import owner_of
from workers.base.ports import free_port
from workers.base.process import stop_process

ADMIN_KEY = "sv_nodes-admin-key-0123456789"
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
        """As a machine that dies: SIGKILL, to the process and all it started."""
        stop_process(self.processes[name], first=signal.SIGKILL, group=True)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for process in self.processes.values():  # all asked at once: they stop together
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes.values():
            stop_process(process, first=signal.SIGINT, grace_s=30, group=True)


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
        while self._thread.is_alive():  # a publisher it starts meanwhile is stopped too
            if self._process is not None:
                stop_process(self._process, first=signal.SIGKILL)
            self._thread.join(0.2)
        if self._process is not None:
            stop_process(self._process, first=signal.SIGKILL)


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Nodes:
    """The three nodes running, the cameras publishing, and the clients the steps use."""

    cluster: Cluster
    admin: httpx.Client
    viewer: httpx.Client
    s3: Any
    api_2: int
    edges: tuple[str, str]  # the edges' names (their leases say who owns what)
    ids: list[str]  # cameras 0 and 1 publish to edge 1, 2 and 3 to edge 2
    key: str  # a viewer key

    def stored(self, prefix: str) -> dict[str, str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return {item["Key"].rsplit("/", 1)[1]: item["ETag"] for item in listing}


@pytest.fixture
def nodes(tmp_path: Path, s3_endpoint: str, redis_client: redis.Redis) -> Iterator[Nodes]:
    database = create_postgres_database()
    env = {**os.environ, **AWS_ENV, "REDIS_URL": TEST_REDIS_URL, "SPARC_DATABASE_URL": database,
           "SPARC_ADMIN_KEY": ADMIN_KEY, "SPARC_SEGMENT_SECONDS": str(SEGMENT_S),
           "SPARC_LIVE_WINDOW": "5", "SPARC_S3_BUCKET": BUCKET,
           "SPARC_S3_ENDPOINT_URL": s3_endpoint, "SPARC_WHEP_PORT": "0",
           "SPARC_METRICS_PORT": "0"}  # fmt: skip
    cluster = Cluster(tmp_path, env)
    api_1, api_2, rtsp_1, rtsp_2 = free_port(), free_port(), free_port(), free_port()
    cameras: list[Camera] = []
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    admin = httpx.Client(base_url=f"http://127.0.0.1:{api_1}", timeout=10,
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"})  # fmt: skip
    viewer = httpx.Client(base_url=f"http://127.0.0.1:{api_2}", timeout=10)
    try:
        # One API first: it creates the database's tables.
        cluster.start("api-1", "node-3", ["serve", "--port", str(api_1)],
                      SPARC_PUBLIC_URL=f"http://127.0.0.1:{api_1}")  # fmt: skip
        eventually(lambda: _answers(admin), 40)
        cluster.start("api-2", "node-2", ["serve", "--port", str(api_2)],
                      SPARC_PUBLIC_URL=f"http://127.0.0.1:{api_2}")  # fmt: skip
        cluster.start("edge-1", "node-1", ["edge", "--port", str(rtsp_1)])
        cluster.start("edge-2", "node-2", ["edge", "--port", str(rtsp_2)])
        cluster.start_worker("worker-1", "node-1")
        cluster.start_worker("worker-2", "node-2")
        eventually(lambda: _listens(rtsp_1) and _listens(rtsp_2) and _listens(api_2), 40)

        site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()["id"]
        made = [admin.post("/api/cameras", json={"site_id": site, "name": f"cam {n}"}).json()
                for n in range(4)]  # fmt: skip
        key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                            "site_ids": [site]}).json()["key"]  # fmt: skip
        viewer.headers["Authorization"] = f"Bearer {key}"
        person = {"username": "nina", "password": PASSWORD, "role": "operator", "site_ids": [site]}
        assert admin.post("/api/users", json=person).status_code == 201
        cameras += [Camera(cam, [rtsp_1, rtsp_2] if n < 2 else [rtsp_2])
                    for n, cam in enumerate(made)]  # fmt: skip
        edges = (f"{socket.gethostname()}:{rtsp_1}", f"{socket.gethostname()}:{rtsp_2}")
        ids = [str(cam["id"]) for cam in made]
        yield Nodes(cluster, admin, viewer, s3, api_2, edges, ids, key)
    finally:
        s3.close()
        admin.close()
        viewer.close()
        for camera in cameras:
            camera.close()
        cluster.close()
        drop_postgres_database(database)


@pytest.mark.long
def test_three_nodes_share_only_redis_and_the_bucket_and_outlive_an_edge(
    nodes: Nodes, redis_client: redis.Redis, children: Children
) -> None:
    _each_camera_is_owned_by_the_edge_it_publishes_to(nodes, redis_client)
    _a_viewer_on_api_2_gets_every_rung_from_the_first_request(nodes)
    driver = _the_player_on_api_2_starts_the_ladder_off_every_disk(nodes, children)
    finished = _edge_1_dies_and_its_cameras_move_to_edge_2(nodes, redis_client)
    _the_player_played_on(driver, finished.killed_at)
    _nothing_edge_1_finished_is_missing(nodes, finished.segments)


def _each_camera_is_owned_by_the_edge_it_publishes_to(
    nodes: Nodes, redis_client: redis.Redis
) -> None:
    owners = {cam: nodes.edges[0 if n < 2 else 1] for n, cam in enumerate(nodes.ids)}

    def owned_as_published() -> bool:
        found = {cam: owner_of(redis_client, cam) for cam in nodes.ids}
        return all(o is not None and o.edge == owners[c] for c, o in found.items())

    eventually(owned_as_published, 30)
    eventually(lambda: all(len(nodes.stored(f"live/{c}/source/")) >= 3 for c in nodes.ids), 40)


def _a_viewer_on_api_2_gets_every_rung_from_the_first_request(nodes: Nodes) -> None:
    """API 2 (no disk, no recording there), before any worker ran for the camera."""
    watched = nodes.ids[0]
    playback = nodes.viewer.get(f"/api/cameras/{watched}/playback")
    assert playback.status_code == 200, playback.text
    assert not nodes.stored(f"live/{watched}/240p/"), "no worker has run for this camera yet"
    master = nodes.viewer.get(playback.json()["url"])
    assert master.status_code == 200, master.text
    variants = m3u8.loads(master.text).playlists
    rungs = [urlsplit(v.uri).path.rsplit("/", 2)[1] for v in variants]
    assert rungs == ["source", "240p"], rungs
    for variant in variants:  # each there (the 240p one empty until its first segment)
        listed = nodes.viewer.get(urljoin(playback.json()["url"], variant.uri))
        assert listed.status_code == 200, listed.text


def _the_player_on_api_2_starts_the_ladder_off_every_disk(
    nodes: Nodes, children: Children
) -> "subprocess.Popen[str]":
    """hls.js in Chromium: its viewer session starts the ladder, whose rungs are on no disk;
    it plays a while on what edge 1 records."""
    watched = nodes.ids[0]
    page = f"/cameras/{watched}?transport=hls"
    driver = children.popen(
        camera_page_command(f"http://127.0.0.1:{nodes.api_2}", "nina", page, WATCH_S, "samples"),
        stdout=subprocess.PIPE, text=True, env=browser_env(),
    )  # fmt: skip
    rung = f"live/{watched}/240p/"
    eventually(lambda: len(nodes.stored(rung)) >= 3, 60)  # 2 segments + playlist
    for node, process in (("node-1", "worker-1"), ("node-2", "worker-2"),
                          ("node-1", "edge-1"), ("node-2", "edge-2")):  # fmt: skip
        rung_dir = nodes.cluster.work / node / process / "media" / rung
        assert not rung_dir.exists(), f"{rung_dir}: a rung on a disk"
    made = len(nodes.stored(rung))
    eventually(lambda: len(nodes.stored(rung)) >= made + 3, 30)  # three rung segments more
    return driver


@dataclass
class Finished:
    killed_at: float
    segments: dict[str, list[str]]  # what edge 1 had finished of each of its cameras


def _edge_1_dies_and_its_cameras_move_to_edge_2(
    nodes: Nodes, redis_client: redis.Redis
) -> Finished:
    media = nodes.cluster.work / "node-1" / "edge-1" / "media" / "live"
    finished = {
        cam: [s.uri for s in m3u8.load(str(media / cam / "source" / "index.m3u8")).segments]
        for cam in nodes.ids[:2]
    }
    nodes.cluster.kill("edge-1")
    killed = time.time()
    moved = time.monotonic()
    edge_2 = nodes.edges[1]
    eventually(lambda: all((o := owner_of(redis_client, c)) is not None and o.edge == edge_2
                           for c in nodes.ids[:2]), 10)  # fmt: skip
    print(f"edge 1 killed: its cameras owned by edge 2 after {time.monotonic() - moved:.1f} s")
    return Finished(killed, finished)


def _the_player_played_on(driver: "subprocess.Popen[str]", killed_at: float) -> None:
    out, _ = driver.communicate(timeout=WATCH_S + 120)
    seen = seen_by_driver(out)
    print(f"player advanced {seen.get('advanced', 0):.1f} s in {WATCH_S} s: "
          f"{(seen.get('facts') or {}).get('text')}")  # fmt: skip
    assert seen["playing"] and seen["state"] == "hls", seen
    before = [s for s in seen["samples"] if s["at"] < killed_at * 1000]
    after = [s for s in seen["samples"] if s["at"] > (killed_at + 15) * 1000]
    assert before and after, seen["samples"]
    assert after[-1]["time"] > before[-1]["time"] + 5, seen["samples"]  # it played on
    assert all(s["state"] == "hls" for s in after), seen["samples"]  # never stopped


def _nothing_edge_1_finished_is_missing(nodes: Nodes, finished: dict[str, list[str]]) -> None:
    """Every segment edge 1 had finished is in the bucket; the recording goes on after a
    discontinuity, numbered after them."""
    for cam, names in finished.items():
        held = nodes.stored(f"live/{cam}/source/")
        assert set(names) <= set(held), (cam, sorted(set(names) - set(held)))
    watched = nodes.ids[0]
    playlist = nodes.s3.get_object(Bucket=BUCKET, Key=f"live/{watched}/source/index.m3u8")
    text = playlist["Body"].read().decode()
    numbers = [int(s.uri[4:10]) for s in m3u8.loads(text).segments]
    assert numbers == sorted(set(numbers)), text
    assert max(numbers) > max(int(n[4:10]) for n in finished[watched]), text


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False
