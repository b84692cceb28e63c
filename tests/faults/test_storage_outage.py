"""Object storage away for a minute while a camera publishes: the edge records on, its spool
keeps every upload, and everything reaches the bucket, in order, once storage is back."""

import subprocess
import time
from collections.abc import Callable

import boto3
import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import publisher, start_edge, wait_until
from tests.moto_harness import MotoServer
from workers.base.ports import free_port

OUTAGE_S = 60.0


def test_recordings_reach_object_storage_through_a_one_minute_outage(
    sqlite_api: Api,
    admin: Callable[..., dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = MotoServer(port)
    server.start()
    server.make_bucket("recordings")
    s3 = boto3.client("s3", endpoint_url=endpoint)

    def stored(prefix: str) -> set[str]:
        listing = s3.list_objects_v2(Bucket="recordings", Prefix=prefix)
        return {item["Key"] for item in listing.get("Contents", [])}

    overrides = {"segment_seconds": 1.0, "s3_bucket": "recordings", "s3_endpoint_url": endpoint}
    edges = start_edge(sqlite_api, **overrides)
    running = next(edges)
    try:
        camera = admin()
        prefix = f"live/{camera['id']}/source/"
        live = subprocess.Popen(
            publisher(running.url(camera), OUTAGE_S + 10, rate=5, gop_s=1),
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: len(stored(prefix)) >= 3)
        server.stop()  # storage goes away; the camera goes on publishing
        time.sleep(OUTAGE_S)
        server.start()
        back = time.monotonic()
        before = {prefix + p.name for p in running.source(camera).glob("seg_*.ts")}
        assert len(before) >= OUTAGE_S * 0.8, "segments were recorded during the outage"
        wait_until(lambda: before <= stored(prefix), 60)
        drained = time.monotonic() - back
        assert live.wait(60) == 0, "the edge kept recording through the outage"
        wait_until(lambda: not running.edge.live_cameras)
        local = {prefix + p.name for p in running.source(camera).glob("seg_*.ts")}
        wait_until(lambda: local <= stored(prefix), 30)
        playlist = s3.get_object(Bucket="recordings", Key=prefix + "index.m3u8")
        listed = m3u8.loads(playlist["Body"].read().decode()).segments
        assert {prefix + s.uri for s in listed} <= stored(prefix), "no dangling playlist"
        print(f"\nstorage away {OUTAGE_S:.0f} s: {len(before)} segments recorded by then, "
              f"all in the bucket {drained:.1f} s after it returned")  # fmt: skip
    finally:
        next(edges, None)
        s3.close()
        server.stop()
