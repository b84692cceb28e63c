"""The ladder follows the viewers: a camera published over RTSP through the edge, a real
worker on the real Redis, and a viewer session that opens and then expires."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import m3u8
import pytest
import redis

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.edge_harness import RunningEdge, publisher, start_edge
from tests.environment import TEST_REDIS_URL
from tests.media import segment_facts
from tests.processes import Children
from tests.waiting import eventually
from tests.workers_harness import start_worker
from video_service.api.settings import ApiSettings

SEGMENT_S = 2.0


@pytest.fixture
def ladder_api(tmp_path: Path, redis_client: redis.Redis) -> Iterator[Api]:
    ttl = 4.0
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY, segment_seconds=SEGMENT_S
    )
    yield from run_api(settings, live_services(settings, ttl))


@pytest.fixture
def ladder_edge(ladder_api: Api) -> Iterator[RunningEdge]:
    scheduler = ladder_api.app_state.live.scheduler  # type: ignore[attr-defined]
    yield from start_edge(ladder_api, scheduler=scheduler)


@pytest.mark.long
def test_one_viewer_gets_aligned_rungs_and_when_it_leaves_the_ladder_stops(
    ladder_api: Api, ladder_edge: RunningEdge, tmp_path: Path, children: Children
) -> None:
    env = {
        "REDIS_URL": TEST_REDIS_URL,
        "SPARC_STATE_DIR": str(tmp_path),
        "SPARC_SEGMENT_SECONDS": str(SEGMENT_S),
        "SPARC_ALLOWED_ROOTS": str(tmp_path),
    }
    worker = start_worker("ladder", env, tmp_path)
    admin = ladder_api.client()
    site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    camera_dir = ladder_edge.source(camera).parent
    camera_url = ladder_edge.url(camera)
    children.popen(publisher(camera_url, 40, size="640x360"), stderr=subprocess.DEVNULL)
    try:
        source = ladder_edge.source(camera) / "index.m3u8"
        eventually(lambda: source.exists() and len(m3u8.load(str(source)).segments) >= 3)
        assert not (camera_dir / "240p").exists(), "no viewer, no ladder"
        opened = admin.post(f"/api/cameras/{camera['id']}/viewers")
        assert opened.status_code == 201 and opened.json()["viewers"] == 1
        session_id = opened.json()["session_id"]
        rung = camera_dir / "240p" / "index.m3u8"

        def watching_until_three_rung_segments() -> bool:
            renew = admin.post(f"/api/cameras/{camera['id']}/viewers/{session_id}/renew")
            assert renew.status_code == 200, renew.text
            return rung.exists() and len(m3u8.load(str(rung)).segments) >= 3

        eventually(watching_until_three_rung_segments, 40)
        master = m3u8.load(str(camera_dir / "master.m3u8"))
        assert [p.uri for p in master.playlists] == ["source/index.m3u8", "240p/index.m3u8"]
        for segment in m3u8.load(str(rung)).segments:
            mine = segment_facts(camera_dir / "240p" / segment.uri)
            theirs = segment_facts(camera_dir / "source" / segment.uri)
            assert mine.starts_with_keyframe and (mine.width, mine.height) == (426, 240)
            assert mine.first_pts == pytest.approx(theirs.first_pts, abs=0.001)
        lag = admin.get(f"/api/cameras/{camera['id']}/lag").json()
        assert set(lag) >= {"source", "240p"}
        assert lag["240p"]["p50_s"] > lag["source"]["p50_s"] >= 0
        # Nobody renews the session: after its 4 s it lapses and the ladder must stop.
        eventually(lambda: _viewers_left(admin, str(camera["id"])) == [session_id[:16]], 30)

        def recorded(rendition: str) -> int:
            return len(list((camera_dir / rendition).glob("seg_*.ts")))

        lapsed_at = recorded("source")  # the jobs queued before it lapsed: done or past
        eventually(lambda: recorded("source") >= lapsed_at + 2, 30)
        done_before = _jobs_done(admin, str(camera["id"]))
        rung_before, source_before = recorded("240p"), recorded("source")

        def three_more_source_segments_and_no_ladder_work() -> bool:
            assert recorded("240p") == rung_before
            assert _jobs_done(admin, str(camera["id"])) == done_before
            return recorded("source") >= source_before + 3

        eventually(three_more_source_segments_and_no_ladder_work, 30)
    finally:
        worker.stop()


def _viewers_left(admin: object, camera_id: str) -> list[str]:
    left = admin.get(  # type: ignore[attr-defined]
        "/api/events", params={"camera_id": camera_id, "type": "viewer_left"}
    ).json()["data"]
    return [e["detail"]["viewer"] for e in left]


def _jobs_done(admin: object, camera_id: str) -> int:
    events = admin.get(  # type: ignore[attr-defined]
        "/api/events", params={"camera_id": camera_id, "type": "ladder_job_done", "limit": 500}
    ).json()["data"]
    return len(events)
