"""A pull camera's sub-stream: the edge pulls the camera's main stream (recorded) and its
`sub_source_url` (relayed, not recorded) from GStreamer's gst-rtsp-server asking for Digest;
the camera's API object shows the sub-stream live at the sub's size, an aiortc viewer of
`webrtc_sub` gets its pictures, the still picture comes from it, and the password is on no
command line. Disabled, the camera's sub-stream is gone."""

import subprocess

import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, start_camera, stop_camera
from tests.waiting import eventually
from tests.webrtc_harness import first_frame_size, picture_size
from video_service.edge.errors import BadMessage
from video_service.edge.sub_pull import control_url
from workers.base.ports import free_port

SUB_SIZE = (256, 144)  # tests/rtsp_camera.py's /sub


@pytest.fixture
def live_api_settings() -> dict[str, object]:
    """Cameras on 127.0.0.1 opened (refused by default)."""
    return {"pull_allowed_networks": "127.0.0.1/32"}


@pytest.fixture
def owning_edge_settings() -> dict[str, object]:
    return {"pull_refresh_s": 0.5, "pull_backoff_max_s": 1.0}


def test_a_pull_cameras_sub_stream_is_pulled_relayed_and_pictured(
    live_api: Api, owning_edge: RunningEdge
) -> None:
    port = free_port()
    camera_server = start_camera(port)
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={
        "site_id": site["id"], "name": "Loading dock", "mode": "pull",
        "source_url": f"rtsp://admin:hunter2@127.0.0.1:{port}/camera",
        "sub_source_url": f"rtsp://admin:hunter2@127.0.0.1:{port}/sub",
    }).json()  # fmt: skip
    path = f"/api/cameras/{camera['id']}"
    try:
        facts = eventually(lambda: admin.get(path).json()["sub_stream"], 30,
                           what="the sub-stream live")  # fmt: skip
        assert facts["codec"] == "H264" and (facts["width"], facts["height"]) == SUB_SIZE
        assert facts["edge"] == "edge-a"
        answer = eventually(
            lambda: admin.get(f"{path}/playback").json()
            if admin.get(f"{path}/playback").status_code == 200 else None,
            40, what="the camera online",
        )  # fmt: skip
        assert answer["webrtc_sub"] and f"/whep/{camera['id']}/sub?token=" in answer["webrtc_sub"]
        assert first_frame_size(answer["webrtc_sub"]) == SUB_SIZE

        def still() -> bytes | None:
            found = admin.get(f"{path}/still.jpg")
            return found.content if found.status_code == 200 else None

        assert picture_size(eventually(still, 20, what="a still picture")) == SUB_SIZE
        listing = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True)
        assert "hunter2" not in listing.stdout

        admin.post(f"{path}/disable")
        eventually(lambda: admin.get(path).json()["sub_stream"] is None, 20,
                   what="the sub-stream gone")  # fmt: skip
    finally:
        stop_camera(camera_server)


def test_a_cameras_control_urls_go_on_a_request_line_only_when_they_are_plain() -> None:
    base = "rtsp://10.0.0.5:554/sub"
    assert control_url(base, "trackID=1") == "rtsp://10.0.0.5:554/sub/trackID=1"
    assert control_url(base + "/", "*") == base + "/"
    assert control_url(base, "rtsp://10.0.0.5/other/track1") == "rtsp://10.0.0.5/other/track1"
    for hostile in ("track\r\nSET pwned 1", "track 1", "t\x00", "t" * 2000):
        with pytest.raises(BadMessage):
            control_url(base, hostile)
