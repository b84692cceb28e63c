"""Faults in a whole running pipeline (private Redis, `serve`, `edge`, `worker`, FFmpeg
publishers, all real processes): what a user sees while a part is killed and after it is
back. Each test prints its figures (`pytest -s tests/faults`); the README's fault table is
made of them."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.faults.stack import SEGMENT_S, RedisServer, Stack, Viewer, listed, measure
from tests.waiting import eventually
from workers.base import redis_keys
from workers.engine.live_ladder import RUNNING

KILLS = 10


@pytest.fixture(params=[False, True], ids=["redis-in-memory", "redis-aof"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path, RedisServer(tmp_path / "redis", aof=request.param))
    try:
        running.start_api()
        running.start_edge()
        running.start_worker()
        yield running
    finally:
        running.close()


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0


@pytest.mark.long
def test_redis_killed_mid_stream_recording_goes_on_and_everything_comes_back(
    stack: Stack,
) -> None:
    camera = stack.camera()
    stack.publish(camera, 120, size="640x360")
    viewer = Viewer(stack, camera)
    try:
        rung, source = stack.rung(camera), stack.source(camera)
        eventually(lambda: len(listed(rung)) >= 2, 60)
        recorded = len(listed(source))
        stack.redis.kill()
        down = time.monotonic()
        during = {_status(stack.admin, path) for path in ("/api/cameras", "/api/sites")}
        assert during <= {200, 503}, f"a Redis outage is a 503 (or a database answer): {during}"
        eventually(lambda: len(listed(source)) >= recorded + 3, 4 * SEGMENT_S + 20)
        stack.redis.start()
        api_back = measure(lambda: _status(stack.admin, "/api/cameras") == 200, 10, 0.02)
        rungs = {segment.uri for segment in listed(rung)}
        ladder_back = measure(lambda: bool({s.uri for s in listed(rung)} - rungs), 60, 0.2)
        kind = "aof" if stack.redis.aof else "in memory"
        outage = time.monotonic() - down
        print(f"\nredis {kind}: recorded {len(listed(source)) - recorded} segments over a "
              f"{outage:.0f} s outage; API 200 {api_back:.2f} s after restart; "
              f"ladder back {ladder_back:.1f} s")  # fmt: skip
        assert api_back <= 1.0, "the API answers again within a second of Redis returning"
        assert ladder_back <= 2 * SEGMENT_S, "the ladder resumes within a segment (and its encode)"
        sequence = [segment.uri for segment in listed(source)]
        assert len(sequence) == len(set(sequence)), "no segment listed twice"
    finally:
        viewer.close()


@pytest.mark.long
@pytest.mark.parametrize("stack", [False], indirect=True, ids=["redis-in-memory"])
def test_a_worker_killed_mid_job_costs_at_most_a_gap_never_a_duplicate(stack: Stack) -> None:
    camera = stack.camera()
    stack.publish(camera, 400, size="640x360")
    viewer = Viewer(stack, camera)
    state = redis.Redis.from_url(stack.redis.url)
    try:
        rung = stack.rung(camera)
        eventually(lambda: len(listed(rung)) >= 2, 60)
        for kill in range(KILLS):  # each kill finds a job running
            eventually(lambda: _a_segment_is_running(state, str(camera["id"])), 30, every=0.02)
            stack.workers.pop().kill()
            stack.start_worker(f"faults-{kill + 1}")
            _wait_for_a_new_segment(rung)
        listed_uris = [segment.uri for segment in listed(rung)]
        assert len(listed_uris) == len(set(listed_uris)), "no segment twice in the rung"
        outcomes = _outcomes_by_segment(stack, str(camera["id"]))
        twice = {segment: n for segment, n in outcomes.items() if n > 1}
        assert not twice, f"one outcome per segment: {twice}"
        gaps = sum(1 for segment in listed(rung) if segment.gap_tag)
        print(f"\nworker SIGKILL x{KILLS} mid-job: {len(outcomes)} outcomes, {gaps} gaps listed")
    finally:
        viewer.close()
        state.close()


def _wait_for_a_new_segment(rung: Path) -> None:
    before = {segment.uri for segment in listed(rung)}
    eventually(lambda: bool({s.uri for s in listed(rung)} - before), 60)


def _a_segment_is_running(client: redis.Redis, camera_id: str) -> bool:
    """Whether a segment of the camera is being worked on now (its state `running`)."""
    keys = client.scan_iter(redis_keys.segment_state(camera_id, "*"))
    return any(client.get(key) == RUNNING for key in keys)


def _outcomes_by_segment(stack: Stack, camera_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in ("ladder_job_done", "ladder_job_skipped", "ladder_job_failed"):
        found = stack.admin.get(
            "/api/events", params={"camera_id": camera_id, "type": kind, "limit": 500}
        ).json()["data"]
        for event in found:
            segment = str(event["detail"].get("segment"))
            counts[segment] = counts.get(segment, 0) + 1
    return counts


@pytest.mark.long
@pytest.mark.parametrize("stack", [False], indirect=True, ids=["redis-in-memory"])
def test_the_edge_killed_and_restarted_keeps_the_recording_with_a_discontinuity(
    stack: Stack,
) -> None:
    camera = stack.camera()
    stack.publish(camera, 20)
    source = stack.source(camera)
    eventually(lambda: len(listed(source)) >= 2, 40)
    stack.kill(stack.edge)
    recorded = [segment.uri for segment in listed(source)]
    stack.start_edge()
    stack.publish(camera, 12)  # the camera dials again, as cameras do
    eventually(lambda: len(listed(source)) >= len(recorded) + 2, 40)
    after = listed(source)
    uris = [segment.uri for segment in after]
    assert uris[: len(recorded)] == recorded or set(recorded) & set(uris), "the old ones stay"
    assert len(uris) == len(set(uris))
    assert any(segment.discontinuity for segment in after[1:]), "the restart is marked"
    assert _status(stack.admin, "/healthz") == 200
