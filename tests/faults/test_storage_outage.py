"""Object storage away while a camera publishes (long enough for the spool's retries to back
off several times): the edge records on, its spool keeps every upload, and everything
reaches the bucket, in order, once storage is back."""

import subprocess
import time
from collections.abc import Callable

import boto3
import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import publisher, start_edge
from tests.moto_harness import MotoServer
from tests.processes import Children
from tests.waiting import eventually
from workers.base.ports import free_port

OUTAGE_SEGMENTS = 20  # at 1 s each: the spool waits 0.5, 1, 2, 4, 8 s between tries


@pytest.mark.long
def test_recordings_reach_object_storage_through_an_outage(
    sqlite_api: Api,
    admin: Callable[..., dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    children: Children,
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
        live = children.popen(
            publisher(running.url(camera), OUTAGE_SEGMENTS + 20, rate=5, gop_s=1),
            stderr=subprocess.DEVNULL,
        )
        eventually(lambda: len(stored(prefix)) >= 3)

        def recorded() -> set[str]:
            return {prefix + p.name for p in running.source(camera).glob("seg_*.ts")}

        server.stop()  # storage goes away; the camera goes on publishing
        away = time.monotonic()
        stored_then = len(recorded())
        eventually(lambda: len(recorded()) >= stored_then + OUTAGE_SEGMENTS, 3 * OUTAGE_SEGMENTS)
        outage_s = time.monotonic() - away
        server.start()
        back = time.monotonic()
        before = recorded()
        eventually(lambda: before <= stored(prefix), 60)
        drained = time.monotonic() - back
        assert live.wait(60) == 0, "the edge kept recording through the outage"
        eventually(lambda: not running.edge.live_cameras)
        local = {prefix + p.name for p in running.source(camera).glob("seg_*.ts")}
        eventually(lambda: local <= stored(prefix), 30)
        playlist = s3.get_object(Bucket="recordings", Key=prefix + "index.m3u8")
        listed = m3u8.loads(playlist["Body"].read().decode()).segments
        assert {prefix + s.uri for s in listed} <= stored(prefix), "no dangling playlist"
        print(f"\nstorage away {outage_s:.0f} s: {len(before)} segments recorded by then, "
              f"all in the bucket {drained:.1f} s after it returned")  # fmt: skip
    finally:
        next(edges, None)
        s3.close()
        server.stop()
