"""When the recording disk runs low and fills, with hysteresis."""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import events, publish, publisher, start_edge
from tests.media import segment_facts
from tests.processes import Children
from tests.waiting import eventually
from video_service.edge.disk import DiskState, disk_state

MB = 1024 * 1024


def test_low_then_full_then_back_only_above_the_low_line() -> None:
    def step(free: int, previous: DiskState) -> DiskState:
        return disk_state(free * MB, low=100 * MB, stop=10 * MB, previous=previous)

    assert step(500, DiskState.OK) is DiskState.OK
    assert step(50, DiskState.OK) is DiskState.LOW
    assert step(5, DiskState.LOW) is DiskState.FULL
    assert step(50, DiskState.FULL) is DiskState.FULL, "not back at the stop line"
    assert step(150, DiskState.FULL) is DiskState.OK


@pytest.mark.long
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root; CI runs as root")
def test_a_recording_disk_that_fills_stops_recording_cleanly_and_refuses_publishers(
    sqlite_api: Api,
    admin: Callable[..., dict[str, object]],
    tmp_path: Path,
    children: Children,
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(media)], check=True)
    running = start_edge(sqlite_api, media_root=media, disk_low_bytes=4 * MB,
                         disk_stop_bytes=3 * MB)  # fmt: skip
    try:
        edge = next(running)
        camera = admin()
        filling = children.popen(publisher(edge.url(camera), 90, size="640x360", rate=25),
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        eventually(lambda: _disk_states(sqlite_api)[:1] == ["full"], 60)
        assert _disk_states(sqlite_api) == ["full", "low"], "low first, then full"
        filling.wait(20)  # the edge ended the session: the publisher is cut off
        playlist = m3u8.load(str(edge.source(camera) / "index.m3u8"))
        assert playlist.segments, "what was recorded stays listed"
        for segment in playlist.segments:
            facts = segment_facts(edge.source(camera) / segment.uri)
            assert facts.starts_with_keyframe, f"{segment.uri} is whole"
        refused = publish(edge.url(camera), 4)
        assert refused.returncode != 0 and "453" in refused.stderr, refused.stderr
    finally:
        next(running, None)  # the edge's shutdown
        subprocess.run(["umount", "-l", str(media)], check=False)


def _disk_states(api: Api) -> list[str]:
    return [str(e["detail"]["state"]) for e in events(api, type="disk_space")]
