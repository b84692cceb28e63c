"""The web player in a real browser: headless Chromium, driven by playwright-core, opens the
player page for a camera published over RTSP, through the signed URL and the origin's token
check, and reaches `playing` with the video advancing for 10 s or more."""

import json
import subprocess
from pathlib import Path

import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher
from tests.environment import TEST_REDIS_URL
from tests.processes import Children
from tests.waiting import eventually
from tests.workers_harness import start_worker

DRIVER = Path(__file__).parent.parent / "browser" / "play_live.mjs"


@pytest.mark.long
def test_hls_js_in_chromium_plays_a_published_camera_for_ten_seconds(
    origin_api: Api,
    origin_edge: RunningEdge,
    tmp_path: Path,
    children: Children,
) -> None:
    env = {"REDIS_URL": TEST_REDIS_URL, "SPARC_STATE_DIR": str(tmp_path),
           "SPARC_SEGMENT_SECONDS": "2", "SPARC_ALLOWED_ROOTS": str(tmp_path)}  # fmt: skip
    worker = start_worker("player-ladder", env, tmp_path)
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    run = children.popen(
        publisher(origin_edge.url(camera), 60, size="640x360"), stderr=subprocess.DEVNULL
    )
    try:
        source = origin_edge.source(camera) / "index.m3u8"
        eventually(lambda: source.exists() and len(m3u8.load(str(source)).segments) >= 3, 30)
        driven = subprocess.run(
            ["node", str(DRIVER), f"{origin_api.url}/player/", key, camera["id"], "11"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert driven.returncode == 0, driven.stderr
        result = json.loads(driven.stdout.strip().splitlines()[-1])
        assert result["playing"], result
        assert key not in result["address"] and "camera=" in result["address"], result
        assert result["advanced"] >= 10, result
        assert result["cdn"] == "origin" and result["rung"], result
        assert result["state"] == "playing", result
    finally:
        run.kill()
        run.wait()
        worker.stop()
