"""HLS in a real browser: the console's camera page in headless Chromium, driven by
playwright-core, plays a camera published over RTSP through the signed URL and the origin's
token check (no live view is offered here, so over hls.js) and the video advances for 10 s or
more; the page says the rung and the CDN. A link to the retired web player opens the same
page, and keeps no key."""

import json
import re
import subprocess
from pathlib import Path

import httpx
import m3u8
import pytest

from tests.api_harness import Api, api_user
from tests.console_page import watch_camera
from tests.edge_harness import RunningEdge, publisher
from tests.environment import TEST_REDIS_URL
from tests.processes import Children
from tests.waiting import eventually
from tests.workers_harness import start_worker


def test_the_old_player_address_goes_to_the_console(origin_api: Api) -> None:
    plain = httpx.get(f"{origin_api.url}/player/")
    assert plain.status_code == 308 and plain.headers["location"] == "/"
    named = httpx.get(f"{origin_api.url}/player/", params={"camera": "abc123"})
    assert named.headers["location"] == "/cameras/abc123"
    for hostile in ("../admin", "a\r\nSet-Cookie: x=1", "a/b", "x" * 100, ""):
        refused = httpx.get(f"{origin_api.url}/player/", params={"camera": hostile})
        assert refused.status_code == 308 and refused.headers["location"] == "/", hostile
    assert httpx.get(f"{origin_api.url}/player/player.js").status_code == 404


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
    api_user(origin_api, "olga", "operator", site["id"])
    run = children.popen(
        publisher(origin_edge.url(camera), 60, size="640x360"), stderr=subprocess.DEVNULL
    )
    try:
        source = origin_edge.source(camera) / "index.m3u8"
        eventually(lambda: source.exists() and len(m3u8.load(str(source)).segments) >= 3, 30)
        # An old player link with a key in its fragment: the camera's page (over HLS, as the
        # fragment asks), the key gone from the address.
        old_link = f"/player/?camera={camera['id']}#key=sk_never_kept&transport=hls"
        seen = watch_camera(origin_api.url, "olga", old_link, 11)
        assert seen["playing"], seen
        assert str(seen["url"]).endswith(f"/cameras/{camera['id']}?transport=hls"), seen
        assert seen["stored"] == 0 and "sk_never_kept" not in json.dumps(seen["console"])
        facts = seen["facts"]
        assert facts["transport"] == "hls", seen
        assert "CDN origin" in facts["text"] and re.search(r"rung \d+p", facts["text"]), facts
        assert seen["advanced"] >= 10, seen
        assert seen["state"] == "hls", seen
    finally:
        run.kill()
        run.wait()
        worker.stop()
