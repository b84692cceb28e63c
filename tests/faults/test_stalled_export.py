"""A client that asks for an export and never reads it holds the node's export slot for
`export_stall_s` at most: then it is cut off, the file is gone from the disk, and the next
export is made."""

import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.edge_harness import RunningEdge, publisher, start_edge
from tests.environment import TEST_REDIS_URL
from tests.processes import Children
from tests.waiting import eventually
from video_service.api.settings import ApiSettings
from workers.base.ports import free_port


@pytest.fixture
def export_api(tmp_path: Path, redis_client: redis.Redis) -> Iterator[Api]:
    port = free_port()
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY, segment_seconds=2.0,
        public_url=f"http://127.0.0.1:{port}", exports_at_once=1, export_stall_s=2.0,
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0), port=port)


@pytest.fixture
def export_edge(export_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(export_api)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


@pytest.mark.long
def test_an_export_nobody_reads_gives_its_slot_back(
    export_api: Api, export_edge: RunningEdge, children: Children
) -> None:
    admin = export_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    camera = admin.post("/api/cameras", json={"site_id": site, "name": "Gate"}).json()
    # 12 s at a constant 6 Mb/s: about 9 MB, more than the sockets between them can hold.
    command = publisher(export_edge.url(camera), 12, size="640x360")
    at = command.index("-c:v")
    command[at:at] = ["-b:v", "6M", "-minrate", "6M", "-maxrate", "6M", "-bufsize", "1M",
                      "-x264-params", "nal-hrd=cbr:force-cfr=1"]  # fmt: skip
    assert children.popen(command, stderr=subprocess.DEVNULL).wait(60) == 0
    base = f"/api/cameras/{camera['id']}"
    spans = eventually(lambda: admin.get(f"{base}/recordings").json()["spans"], 20)
    start = datetime.fromisoformat(spans[0]["start"]).timestamp()
    end = datetime.fromisoformat(spans[-1]["end"]).timestamp()
    query = f"start={_iso(start)}&end={_iso(end)}".replace("+", "%2B").replace(":", "%3A")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing, holds little
    try:
        stalled.connect(("127.0.0.1", int(export_api.url.rsplit(":", 1)[1])))
        stalled.sendall(f"GET {base}/export?{query} HTTP/1.1\r\nHost: api\r\n"
                        f"Authorization: Bearer {ADMIN_KEY}\r\n\r\n".encode())  # fmt: skip
        params = {"start": _iso(start), "end": _iso(end)}
        exports = export_api.settings.state_dir / "exports"
        # Its export made (the file there), it holds the node's one slot while it does not read.
        eventually(lambda: exports.exists() and any(exports.iterdir()), 20, what="its export")
        assert admin.get(f"{base}/export", params=params).status_code == 503
        answer = eventually(lambda: (r := admin.get(f"{base}/export", params=params,
                                                    timeout=60)).status_code == 200 and r, 30,
                            what="the slot given back")  # fmt: skip
        assert len(answer.content) > 5_000_000, len(answer.content)
    finally:
        stalled.close()
    eventually(lambda: not list(exports.iterdir()), 10, what="the exports' files removed")
