"""With object storage configured: the edge uploads the recording, the worker (on a "machine"
of its own: its own state and media folders) fetches each source segment from the bucket and
puts the rungs and the master there (each segment before the playlist that names it), the
origin serves what the bucket holds (the API node needs no local copy), and segments
leaving the window are deleted from the bucket too. Against a real S3 wire-protocol server
(moto)."""

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import httpx
import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher
from tests.environment import TEST_REDIS_URL
from tests.moto_harness import AWS_ENV, BUCKET
from tests.processes import Children
from tests.signed_urls import tokens_everywhere
from tests.waiting import eventually
from tests.workers_harness import start_worker
from workers.base import redis_keys

SEGMENT_S = 2.0  # as `stored_api` has it


@pytest.mark.long
def test_the_ladder_is_stored_served_from_the_bucket_and_expires_there(
    stored_api: Api,
    stored_edge: RunningEdge,
    s3_endpoint: str,
    tmp_path: Path,
    children: Children,
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)

    def stored(prefix: str) -> set[str]:
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return {item["Key"] for item in listing.get("Contents", [])}

    def text(key: str) -> str:
        return str(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())

    # The worker has its own state and media folders: it never sees the edge's disk.
    elsewhere = tmp_path / "worker-node"
    elsewhere.mkdir()
    env = {**AWS_ENV, "REDIS_URL": TEST_REDIS_URL, "SPARC_STATE_DIR": str(elsewhere),
           "SPARC_SEGMENT_SECONDS": str(SEGMENT_S), "SPARC_ALLOWED_ROOTS": str(elsewhere),
           "SPARC_S3_BUCKET": BUCKET, "SPARC_S3_ENDPOINT_URL": s3_endpoint}  # fmt: skip
    worker = start_worker("ladder", env, elsewhere)
    admin = stored_api.client()
    site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    prefix = f"live/{camera['id']}/"
    publishing = children.popen(
        publisher(stored_edge.url(camera), 40, size="640x360"), stderr=subprocess.DEVNULL
    )
    try:
        eventually(lambda: prefix + "source/index.m3u8" in stored(prefix))
        answer = admin.get(f"/api/cameras/{camera['id']}/playback")
        assert answer.status_code == 200, answer.text
        url = answer.json()["url"]

        def rung_stored() -> bool:
            keys = stored(prefix + "240p/")
            if prefix + "240p/index.m3u8" not in keys:
                return False
            listed = m3u8.loads(text(prefix + "240p/index.m3u8")).segments
            named = {prefix + "240p/" + s.uri for s in listed}
            assert named <= stored(prefix + "240p/"), "a playlist names only stored segments"
            return len(listed) >= 2

        eventually(rung_stored, 40)
        first_rung_segments = stored(prefix + "240p/") - {prefix + "240p/index.m3u8"}
        master = m3u8.loads(text(prefix + "master.m3u8"))
        assert [p.uri for p in master.playlists] == ["source/index.m3u8", "240p/index.m3u8"]
        # Segments that left the window are deleted from the bucket too.
        eventually(lambda: not first_rung_segments & stored(prefix + "240p/"), 40)
        assert stored(prefix + "240p/") - {prefix + "240p/index.m3u8"}, "the window remains"
    finally:
        publishing.kill()
        publishing.wait()
        worker.stop()

    # Neither the edge's disk nor the worker's holds the rungs or the master: the origin
    # serves what the bucket holds.
    for node in (tmp_path, elsewhere):
        camera_dir = node / "media" / "live" / camera["id"]
        assert not (camera_dir / "240p").exists() and not (camera_dir / "master.m3u8").exists()
    assert not any((elsewhere / "scratch").iterdir()), "the worker's scratch is left behind"
    with httpx.Client(timeout=10) as player:
        _serve_from_the_bucket(player, url, s3, prefix)


def _serve_from_the_bucket(player: httpx.Client, url: str, s3: Any, prefix: str) -> None:
    steered = player.get(url)
    assert steered.status_code == 200, steered.text
    rung_url = next(p.uri for p in m3u8.loads(steered.text).playlists if "/240p/" in p.uri)
    rung = player.get(rung_url)
    assert rung.status_code == 200, rung.text
    tokens_everywhere(rung.text)
    segment_url = urljoin(rung_url, m3u8.loads(rung.text).segments[-1].uri)
    body = player.get(segment_url)
    assert body.status_code == 200
    assert body.headers["cache-control"] == "public, max-age=31536000, immutable"
    key = prefix + "240p/" + urlsplit(segment_url).path.rsplit("/", 1)[-1]
    assert body.content == s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert player.get(segment_url.replace("/seg_", "/seg_9")).status_code == 404


def test_an_api_node_without_the_recording_serves_the_planned_master_from_the_first_request(
    stored_api: Api,
    stored_edge: RunningEdge,
    s3_endpoint: str,
    tmp_path: Path,
    children: Children,
) -> None:
    """Before any worker ran: the master is the one the edge planned from the recording
    (every rung the source allows; each rung's playlist there, empty until its first
    segment), served by an API node with no disk and no probe; without the plan (Redis lost
    it), the recording alone, built from what the bucket holds."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    admin = stored_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    source_key = f"live/{camera['id']}/source/index.m3u8"

    def stored_segments() -> int:
        try:
            body = s3.get_object(Bucket=BUCKET, Key=source_key)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            return 0
        return len(m3u8.loads(body).segments)

    publishing = children.popen(
        publisher(stored_edge.url(camera), 30, size="640x360"), stderr=subprocess.DEVNULL
    )
    try:
        eventually(lambda: stored_segments() >= 2, 30)
        answer = admin.get(f"/api/cameras/{camera['id']}/playback")
        assert answer.status_code == 200, answer.text
    finally:
        publishing.kill()
        publishing.wait()
    eventually(lambda: not stored_edge.edge.live_cameras, 30)  # the recorder has finished
    shutil.rmtree(tmp_path / "media" / "live" / camera["id"])
    with httpx.Client(timeout=10) as player:
        master = player.get(answer.json()["url"])
        assert master.status_code == 200, master.text
        variants = m3u8.loads(master.text).playlists
        paths = [urlsplit(v.uri).path for v in variants]
        live = f"/media/live/{camera['id']}"
        # The source first (players start on what has segments already), then the rungs.
        assert paths == [f"{live}/source/index.m3u8", f"{live}/240p/index.m3u8"], paths
        assert [v.stream_info.resolution for v in variants] == [(640, 360), (426, 240)]
        assert all(v.stream_info.codecs.startswith("avc1.") for v in variants)
        rung = player.get(urljoin(answer.json()["url"], variants[1].uri))
        assert rung.status_code == 200, rung.text
        empty = m3u8.loads(rung.text)
        assert not empty.segments and empty.media_sequence is not None, rung.text
        elsewhere = variants[1].uri.replace("240p", "720p")
        unplanned = player.get(urljoin(answer.json()["url"], elsewhere))
        assert unplanned.status_code == 404, unplanned.text

        # The plan lost with Redis's memory: the recording alone, from the bucket.
        stored_api.app_state.delivery.redis.delete(redis_keys.planned_master(camera["id"]))
        master = player.get(answer.json()["url"])
        assert master.status_code == 200, master.text
        variants = m3u8.loads(master.text).playlists
        paths = [urlsplit(v.uri).path for v in variants]
        assert paths == [f"{live}/source/index.m3u8"], paths
        info = variants[0].stream_info
        assert info.resolution == (640, 360) and info.codecs.startswith("avc1.")
        assert info.bandwidth > 0
        source = player.get(urljoin(answer.json()["url"], variants[0].uri))
        assert source.status_code == 200 and m3u8.loads(source.text).segments
