"""Edges sharing cameras: one owner per camera, a lease in Redis with a fencing token. A
second publisher on another edge takes the camera over (a larger token) and the first edge
hears it and cuts its publisher off (within 2 s; its renewal is the fallback); the API hands
viewers the owning edge's live view; a publisher that leaves frees the camera at once, and
an edge that dies frees it within one time to live; a lease lost with Redis's memory is
taken again, recording on. A camera publishing to both edges at once ends with one owner
and one continuous recording. Against real Redis, two real edges and a real API."""

import itertools
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import redis

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publish, publisher, start_edge
from tests.faults.stack import RedisServer
from tests.moto_harness import BUCKET
from tests.processes import Children
from tests.waiting import eventually, holds
from video_service.delivery.recorded_ranges import TimeRange
from video_service.shared.ownership import Owner, Ownership, owner_of, parse_taken
from video_service.shared.recording_index import Recorded
from workers.base import redis_keys
from workers.base.layout import segment_number
from workers.base.notices import hear

CAMERA = "c" * 32


def test_a_later_owner_gets_a_larger_token_and_the_earlier_cannot_renew(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    first = Ownership(redis_client, "edge-a:8554", "http://a:8889", ttl_s=5)
    second = Ownership(redis_client, "edge-b:8554", None, ttl_s=5)
    a = first.take(CAMERA)
    assert owner_of(redis_client, CAMERA) == a and a.whep_url == "http://a:8889"
    assert first.renew(a)
    b = second.take(CAMERA)
    assert b.token > a.token
    assert not first.renew(a) and second.renew(b)
    first.release(a)  # not its own any more: nothing happens
    assert owner_of(redis_client, CAMERA) == b and b.whep_url is None
    second.release(b)
    assert owner_of(redis_client, CAMERA) is None
    # A holder that stops renewing (a dead edge) frees the camera within its time to live.
    short = Ownership(redis_client, "edge-c", ttl_s=0.3)
    c = short.take(CAMERA)
    assert c.token > b.token
    time.sleep(0.5)
    assert owner_of(redis_client, CAMERA) is None and not short.renew(c)
    # Taken by many at once: every token differs, and the owner holds the largest.
    tokens: list[int] = []
    takers = [Ownership(new_redis(), f"edge-{n}") for n in range(8)]
    threads = [threading.Thread(target=lambda t=t: tokens.append(t.take(CAMERA).token))
               for t in takers]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 8
    found = owner_of(redis_client, CAMERA)
    assert found is not None and found.token == max(tokens)
    for bad in ("edge a", "edge\x01", ""):
        with pytest.raises(ValueError):
            Ownership(redis_client, bad)
    with pytest.raises(ValueError):
        Ownership(redis_client, "edge", "http://x/\r\nInjected: 1")
    redis_client.set(redis_keys.camera_owner(CAMERA), "garbage")
    assert owner_of(redis_client, CAMERA) is None


def test_every_take_is_heard_at_once_by_the_other_edges(
    redis_client: redis.Redis, new_redis: Callable[[], redis.Redis]
) -> None:
    heard: list[Owner | None] = []
    stop = threading.Event()

    def note(text: str) -> None:
        # Channels are not per database: the suite's other processes take their own
        # cameras on the same channel. This test's camera, and garbage, are heard.
        owner = parse_taken(text)
        if owner is None or owner.camera_id == CAMERA:
            heard.append(owner)

    handlers = {redis_keys.CAMERA_TAKEN: note}
    listener = threading.Thread(target=hear, args=(new_redis(), handlers, stop))
    listener.start()
    try:
        time.sleep(0.3)  # subscribed
        taken = Ownership(redis_client, "edge-b:8554", "http://b:8889").take(CAMERA)
        eventually(lambda: bool(heard), 2)
        assert heard == [taken]
        # Garbage on the channel is no owner; the listener goes on.
        redis_client.publish(redis_keys.CAMERA_TAKEN, "\x00 garbage")
        again = Ownership(redis_client, "edge-c:8554").take(CAMERA)
        eventually(lambda: len(heard) == 3, 2)
        assert heard[1] is None and heard[2] == again and again.whep_url is None
    finally:
        stop.set()
        listener.join(5)


@pytest.fixture
def slow_looking_edge(
    origin_api: Api,
    new_redis: Callable[[], redis.Redis],
) -> Iterator[RunningEdge]:
    """An edge that looks in the database for disabled cameras only every 60 s."""
    ownership = Ownership(new_redis(), "edge-a")
    yield from start_edge(origin_api, ownership=ownership, enabled_check_s=60)


def test_notices_are_heard_again_after_redis_was_away(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stopped for a while and started again: the listener subscribes again by itself
    (a notice sent while it was away is lost: the edges' periodic looks make up for it)."""
    server = RedisServer(tmp_path / "redis", aof=False)
    heard: list[str] = []
    stop = threading.Event()
    client = redis.Redis(port=server.port)
    listener = threading.Thread(
        target=hear, args=(client, {redis_keys.CAMERA_CHANGED: heard.append}, stop)
    )
    listener.start()
    try:
        eventually(lambda: client.publish(redis_keys.CAMERA_CHANGED, "first") == 1, 5)
        eventually(lambda: heard == ["first"], 2)
        server.kill()
        eventually(lambda: "not hearing notices" in caplog.text, 10)
        server.start()
        eventually(lambda: client.publish(redis_keys.CAMERA_CHANGED, "again") == 1, 10)
        eventually(lambda: heard[-1:] == ["again"], 2)
    finally:
        stop.set()
        listener.join(5)
        client.close()
        server.stop()


def test_a_camera_disabled_or_deleted_is_cut_off_within_a_second(
    origin_api: Api,
    slow_looking_edge: RunningEdge,
    redis_client: redis.Redis,
    children: Children,
) -> None:
    """The API's notice (`redis_keys.CAMERA_CHANGED`) has the edge look at once."""
    edge = slow_looking_edge
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    made = [admin.post("/api/cameras", json={"site_id": site["id"], "name": f"cam {n}"}).json()
            for n in range(2)]  # fmt: skip
    for cam in made:
        children.popen(publisher(edge.url(cam), 40), stderr=subprocess.DEVNULL)
    eventually(lambda: len(edge.edge.live_cameras) == 2, 15)
    disabled, deleted = (str(cam["id"]) for cam in made)
    started = time.monotonic()
    assert admin.post(f"/api/cameras/{disabled}/disable").status_code == 200
    eventually(lambda: disabled not in edge.edge.live_cameras, 1)
    took = time.monotonic() - started
    started = time.monotonic()
    assert admin.delete(f"/api/cameras/{deleted}").status_code == 204
    eventually(lambda: deleted not in edge.edge.live_cameras, 1)
    print(f"cut off after {took:.2f} s (disabled), "
          f"{time.monotonic() - started:.2f} s (deleted)")  # fmt: skip


@pytest.fixture
def two_edges(
    origin_api: Api,
    redis_client: redis.Redis,
    new_redis: Callable[[], redis.Redis],
) -> Iterator[tuple[RunningEdge, RunningEdge]]:
    def owned(name: str) -> Ownership:
        return Ownership(new_redis(), name, f"http://{name}:8889", ttl_s=1.5)

    for a in start_edge(origin_api, ownership=owned("edge-a")):
        for b in start_edge(origin_api, ownership=owned("edge-b")):
            yield a, b


def test_a_second_publisher_on_another_edge_takes_the_camera_over(
    origin_api: Api,
    two_edges: tuple[RunningEdge, RunningEdge],
    redis_client: redis.Redis,
    children: Children,
) -> None:
    edge_a, edge_b = two_edges
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    cam = camera["id"]

    def owner() -> str | None:
        found = owner_of(redis_client, cam)
        return found.edge if found else None

    def live_view() -> str:
        answer = admin.get(f"/api/cameras/{cam}/playback")
        return str(answer.json().get("webrtc") or "") if answer.status_code == 200 else ""

    first = children.popen(publisher(edge_a.url(camera), 40), stderr=subprocess.DEVNULL)
    eventually(lambda: owner() == "edge-a" and cam in edge_a.edge.live_cameras, 15)
    eventually(lambda: live_view().startswith(f"http://edge-a:8889/whep/{cam}?token="), 15)
    # Redis restarted empty (the lease gone): edge A takes the camera again, new token,
    # and goes on recording.
    lost = owner_of(redis_client, cam).token  # type: ignore[union-attr]
    redis_client.delete(redis_keys.camera_owner(cam))
    eventually(lambda: owner() == "edge-a", 3)
    token_a = owner_of(redis_client, cam).token  # type: ignore[union-attr]
    assert token_a > lost and cam in edge_a.edge.live_cameras and first.poll() is None

    second = children.popen(publisher(edge_b.url(camera), 40), stderr=subprocess.DEVNULL)
    eventually(lambda: owner() == "edge-b", 15)
    # Edge A hears the take and cuts its publisher off: one edge records the camera.
    eventually(lambda: cam not in edge_a.edge.live_cameras, 2)
    eventually(lambda: cam in edge_b.edge.live_cameras, 15)
    first.wait(15)  # its connection closed: the publisher ends (long before its 40 s)
    assert owner_of(redis_client, cam).token > token_a  # type: ignore[union-attr]
    eventually(lambda: live_view().startswith(f"http://edge-b:8889/whep/{cam}?"), 5)
    # and it stays B's while B renews
    holds(lambda: owner() == "edge-b" and cam in edge_b.edge.live_cameras, 2)

    # B's publisher leaves: the camera is free at once, not after the lease.
    second.terminate()
    second.wait(15)
    eventually(lambda: owner() is None, 5)


def test_a_camera_moving_to_an_edge_with_its_own_disk_goes_on_numbering_after_the_bucket(
    stored_api: Api,
    s3_endpoint: str,
    tmp_path: Path,
) -> None:
    """Two edges, each with its own media root, one bucket: the second edge's recorder
    numbers the camera's segments after the last one the first stored, with a discontinuity
    at the join; nothing the first stored is overwritten."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    admin = stored_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    prefix = f"live/{camera['id']}/source/"

    def stored() -> dict[str, str]:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return {o["Key"].rsplit("/", 1)[1]: o["ETag"] for o in listed if o["Key"].endswith(".ts")}

    for edge_a in start_edge(stored_api, media_root=tmp_path / "a"):
        assert publish(edge_a.url(camera), 7).returncode == 0
        eventually(lambda: len(stored()) >= 3, 20)
    first = stored()
    last_a = max(segment_number(name) or 0 for name in first)
    for edge_b in start_edge(stored_api, media_root=tmp_path / "b"):
        assert publish(edge_b.url(camera), 5).returncode == 0
        eventually(lambda: max(segment_number(n) or 0 for n in stored()) > last_a + 1, 20)
        local = sorted((tmp_path / "b" / prefix).glob("seg_*.ts"))
        assert local and segment_number(local[0].name) == last_a + 1, local
    after = stored()
    assert all(after[name] == tag for name, tag in first.items()), "A's segments overwritten"
    playlist = s3.get_object(Bucket=BUCKET, Key=f"{prefix}index.m3u8")["Body"].read().decode()
    assert "#EXT-X-DISCONTINUITY" in playlist or last_a + 1 not in {
        segment_number(line) for line in playlist.splitlines()
    }, playlist  # the join is marked (or has left the window of 3)


@pytest.fixture
def stored_edges(
    stored_api: Api,
    tmp_path: Path,
    new_redis: Callable[[], redis.Redis],
) -> Iterator[dict[str, RunningEdge]]:
    """Two edges with their own disks and the default lease (renewed every 5 s)."""

    def owned(name: str) -> Ownership:
        return Ownership(new_redis(), name)

    for a in start_edge(stored_api, media_root=tmp_path / "a", ownership=owned("edge-a")):
        for b in start_edge(stored_api, media_root=tmp_path / "b", ownership=owned("edge-b")):
            yield {"edge-a": a, "edge-b": b}


@pytest.mark.long
def test_a_camera_publishing_to_both_edges_at_once_ends_with_one_owner_and_one_recording(
    stored_api: Api,
    stored_edges: dict[str, RunningEdge],
    s3_endpoint: str,
    children: Children,
) -> None:
    """The edge that took the camera first hears the other's take and cuts its publisher
    off within 2 s (long before its renewal); the recording index and the bucket hold one
    run of numbers, no two segments at once."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    admin = stored_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    cam = camera["id"]
    seconds = 14
    edges = list(stored_edges.values())

    def recording() -> list[RunningEdge]:
        return [edge for edge in edges if cam in edge.edge.live_cameras]

    def one_owner() -> bool:
        found = owner_of(stored_api.app_state.live.redis, cam)
        return found is not None and recording() == [stored_edges[found.edge]]

    both = [children.popen(publisher(edge.url(camera), seconds), stderr=subprocess.DEVNULL)
            for edge in edges]  # fmt: skip
    eventually(lambda: bool(recording()), 10)
    eventually(one_owner, 2)
    codes = [process.wait(seconds + 20) for process in both]
    # One publisher was cut off early; the other published to its end.
    assert sorted(code == 0 for code in codes) == [False, True], codes
    eventually(lambda: not recording(), 15)

    def indexed() -> list[Recorded]:
        return stored_api.app_state.delivery.recorded(
            cam, TimeRange(time.time() - 120, time.time())
        )

    # The last segment, closed as the recorder finished, indexed and stored.
    found = eventually(
        lambda: (got := indexed()) and sum(s.duration for s in got) >= seconds - 4 and got, 10
    )
    numbers = [segment.number for segment in found]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    for before, after in itertools.pairwise(found):
        assert before.start + before.duration <= after.start + 0.1, (before, after)
    assert sum(s.duration for s in found) >= seconds - 4, found
    assert sum(s.discontinuity for s in found[1:]) <= 1, found
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"live/{cam}/source/").get("Contents", [])
    stored = {item["Key"].rsplit("/", 1)[1] for item in listed}
    missing = [n for n in numbers if f"seg_{n:06d}.ts" not in stored]
    assert not missing, (missing, sorted(stored))
