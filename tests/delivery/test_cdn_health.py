"""CDN health reaches selection: two providers, each probed at its health URL; when one
stops answering it is ejected (the operators' view says so), its viewers get the other one
in their playback answers and in their steering order, and when it answers again its
viewers go back to it."""

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import m3u8
import pytest
import redis

from cdn.providers import GLOBAL, Provider, Scheme
from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.edge_harness import RunningEdge, publisher, start_edge
from tests.environment import TEST_REDIS_URL
from tests.processes import Children
from tests.waiting import eventually
from video_service.api.live import VIEWER_SESSION_TTL_S
from video_service.api.settings import ApiSettings
from workers.base.ports import free_port


class Answering(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


class HealthServer:
    """A CDN's health object, that can be taken down and brought back on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    def up(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Answering)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None


@pytest.fixture
def health() -> Iterator[dict[str, HealthServer]]:
    servers = {"alpha": HealthServer(), "beta": HealthServer()}
    yield servers
    for server in servers.values():
        if server.server is not None:
            server.down()


@pytest.fixture
def cdn_api(
    tmp_path: Path, redis_client: redis.Redis, health: dict[str, HealthServer]
) -> Iterator[Api]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    providers = tuple(
        Provider(
            name=name,
            weight=0.5,
            regions=(GLOBAL,),
            scheme=Scheme.ORIGIN,
            base_url=f"{public}/media",
            health_url=server.url,
        )
        for name, server in health.items()
    )
    ttl = VIEWER_SESSION_TTL_S
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY, segment_seconds=2.0,
        public_url=public,
        cdn_providers=providers, cdn_probe_every_s=0.2, cdn_probe_timeout_s=2.0,
        cdn_failure_threshold=2, cdn_ejection_s=3.0,
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, ttl), port=port)


@pytest.fixture
def cdn_edge(cdn_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(cdn_api)


def test_a_failing_cdn_is_ejected_and_its_viewers_move_until_it_recovers(
    cdn_api: Api,
    cdn_edge: RunningEdge,
    health: dict[str, HealthServer],
    children: Children,
) -> None:
    admin = cdn_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    viewer = cdn_api.client(key)
    assert cdn_api.client(key).get("/api/cdn").status_code == 403, "operators only"
    run = children.popen(publisher(cdn_edge.url(camera), 30), stderr=subprocess.DEVNULL)
    try:
        source = cdn_edge.source(camera) / "index.m3u8"
        eventually(lambda: source.exists() and len(m3u8.load(str(source)).segments) >= 1)

        def playback() -> dict[str, str]:
            answer = viewer.get(f"/api/cameras/{camera['id']}/playback")
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        def ejected() -> set[str]:
            return {p["name"] for p in admin.get("/api/cdn").json() if p["ejected"]}

        first = playback()
        sticky = first["cdn"]
        other = "beta" if sticky == "alpha" else "alpha"
        assert playback()["cdn"] == sticky, "a viewer sticks to its CDN"
        assert ejected() == set()

        health[sticky].down()
        eventually(lambda: sticky in ejected(), 10)
        assert other not in ejected(), "the healthy one stays in"
        moved = playback()
        assert moved["cdn"] == other
        query = parse_qs(urlsplit(moved["url"]).query)
        steering = viewer.get(
            f"/api/steering/{camera['id']}",
            params={"session": moved["session_id"], "viewer": query["viewer"][0]},
        )
        assert steering.status_code == 200, steering.text
        assert steering.json()["PATHWAY-PRIORITY"] == [other, sticky], "the ejected one last"

        health[sticky].up()
        eventually(lambda: ejected() == set(), 15)
        assert playback()["cdn"] == sticky, "back to its own CDN once that one is healthy"
    finally:
        run.kill()
        run.wait()
