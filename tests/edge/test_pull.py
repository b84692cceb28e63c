"""Pull cameras: the edge records a camera that is itself an RTSP server (GStreamer's
gst-rtsp-server standing in for an IP camera), reconnects when it comes back, and stops
when the camera is disabled. With two edges, each camera is pulled by exactly one, and
an edge's cameras move to the other when it stops."""

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import m3u8
import pytest
import redis
from sqlalchemy import text

from tests.api_harness import ADMIN_KEY, Api, run_api
from tests.edge_harness import RunningEdge, events, start_camera, start_edge, stop_camera
from tests.waiting import eventually, holds, settles
from video_service.api.db import session_scope
from video_service.api.settings import ApiSettings
from video_service.edge.membership import pulled_by
from video_service.shared.edges import ALIVE_BEAT_S
from video_service.shared.ownership import Ownership
from workers.base.ports import free_port


@pytest.fixture
def pull_api(tmp_path: Path) -> Iterator[Api]:
    """Cameras on loopback are refused unless opened: this test's camera is on 127.0.0.1."""
    settings = ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY,
                           pull_allowed_networks="127.0.0.1/32")  # type: ignore[arg-type]  # fmt: skip
    yield from run_api(settings)


@pytest.fixture
def pull_edge(pull_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(pull_api, pull_refresh_s=0.5, pull_backoff_max_s=1.0)


def pulling(camera_id: str) -> bool:
    """Whether a recorder is reading the camera (through the edge's relay)."""
    listing = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    return any("ffmpeg" in line and f"/pull/{camera_id}" in line for line in listing.splitlines())


def segments(playlist: Path) -> list[m3u8.Segment]:
    return list(m3u8.load(str(playlist)).segments) if playlist.exists() else []


@pytest.mark.long
def test_a_pull_camera_is_recorded_reconnected_and_stopped(
    pull_edge: RunningEdge, pull_api: Api
) -> None:
    sqlite_api = pull_api
    port = free_port()
    camera_server = start_camera(port)
    admin = sqlite_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={
        "site_id": site["id"], "name": "Loading dock", "mode": "pull",
        "source_url": f"rtsp://admin:hunter2@127.0.0.1:{port}/camera",
    }).json()  # fmt: skip
    assert "hunter2" not in str(camera)
    playlist = pull_edge.source(camera) / "index.m3u8"
    try:
        eventually(lambda: len(segments(playlist)) >= 2, 40)
        kinds = [e["type"] for e in events(sqlite_api, camera_id=camera["id"])]
        assert "camera_online" in kinds
        # The password reached the camera (it asks for Digest), and nowhere else.
        listing = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True)
        assert "hunter2" not in listing.stdout
        log = pull_edge.source(camera) / "recorder.log"
        assert not log.exists() or "hunter2" not in log.read_text()
        with session_scope(sqlite_api.sessions) as session:
            row = session.execute(text("SELECT * FROM cameras")).mappings().one()
        assert "hunter2" not in str(dict(row)) and row["source_secret"]
        stop_camera(camera_server)
        eventually(lambda: any(
            e["type"] == "camera_offline" for e in events(sqlite_api, camera_id=camera["id"])
        ), 30)  # fmt: skip
        before = [s.uri for s in segments(playlist)]
        camera_server = start_camera(port)
        eventually(lambda: len([s for s in segments(playlist) if s.uri not in before]) >= 1, 40)
        fresh = [s for s in segments(playlist) if s.uri not in before]
        assert fresh[0].discontinuity, "the reconnect is marked"
        assert pulling(camera["id"])  # (before the disable: after it, the puller may be gone
        admin.post(f"/api/cameras/{camera['id']}/disable")  # within the 0.5 s refresh)
        eventually(lambda: not pulling(camera["id"]), 20)
        files = set(p.name for p in pull_edge.source(camera).glob("seg_*.ts"))
        holds(lambda: set(p.name for p in pull_edge.source(camera).glob("seg_*.ts")) == files,
              4, what="no more segments")  # fmt: skip
    finally:
        stop_camera(camera_server)


@pytest.mark.long
def test_pull_cameras_are_spread_over_the_edges_and_move_when_one_stops(
    pull_api: Api, redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    port = free_port()
    camera_server = start_camera(port)
    admin = pull_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    ids = [admin.post("/api/cameras", json={
        "site_id": site["id"], "name": f"Dock {n}", "mode": "pull",
        "source_url": f"rtsp://admin:hunter2@127.0.0.1:{port}/camera",
    }).json()["id"] for n in range(4)]  # fmt: skip
    names = ("edge-a", "edge-b")
    clients = [new_redis() for _ in range(3)]
    owned = [Ownership(client, name) for client, name in zip(clients, names, strict=False)]
    quick = {"pull_refresh_s": 0.5, "pull_backoff_max_s": 1.0}
    edges = [start_edge(pull_api, ownership=ownership, **quick) for ownership in owned]
    running = [next(edge) for edge in edges]
    try:

        def shares() -> list[set[str]]:
            return [edge.edge.pulls.pulling if edge.edge.pulls else set() for edge in running]

        # Each camera pulled by exactly one edge: the one rendezvous hashing picks. (Two
        # edges starting together may pass a camera between them once before it settles:
        # an edge that has not yet seen the other's first beat takes everything, and a take
        # on its way when it hears the other's lands after it; the other leaves the camera
        # for two beats. So: settled for a beat first, then it stays so.)
        expected = [{c for c in ids if pulled_by(c, names) == name} for name in names]
        settles(shares, expected, 20, for_s=ALIVE_BEAT_S)
        holds(lambda: shares() == expected, ALIVE_BEAT_S, what="the shares")
        # The edge with the most cameras stops: they move to the other, nothing pulled twice.
        leaving = 0 if len(expected[0]) >= len(expected[1]) else 1
        next(edges[leaving], None)  # its shutdown
        staying = running[1 - leaving]
        pulls = eventually(lambda: staying.edge.pulls, 5)
        eventually(lambda: pulls.pulling == set(ids), 15)
        eventually(lambda: all(c in pulls.online for c in expected[leaving]), 40)
        # A new edge joins: its share moves to it (the edge that had them hears its takes
        # and stops), and settles there.
        joining = Ownership(clients[2], "edge-c")
        edges.append(start_edge(pull_api, ownership=joining, **quick))
        running = [staying, next(edges[-1])]
        now = (names[1 - leaving], "edge-c")
        expected = [{c for c in ids if pulled_by(c, now) == name} for name in now]
        settles(shares, expected, 25, for_s=ALIVE_BEAT_S)
        holds(lambda: shares() == expected, 1.5 * ALIVE_BEAT_S, what="the shares")
    finally:
        for edge in edges:
            next(edge, None)
        stop_camera(camera_server)
