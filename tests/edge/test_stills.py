"""Still pictures: a camera's picture is a JPEG at most 640 wide, made for the cameras asked
about, from the sub-stream where the camera sends one; it follows the camera's picture while
it is live (a new one within seconds, ETag and a short Cache-Control; If-None-Match is a
304), and stays, with its time, once the camera is offline. A camera that never published
is a 404 with Retry-After; another site's key is refused. An event's picture is cut from the
recording at its time once, kept in the store, and the same ever after."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher
from tests.processes import Children
from tests.waiting import eventually, holds
from tests.webrtc_harness import picture_size


def test_a_still_picture_follows_the_camera_and_outlives_it(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    elsewhere = admin.post("/api/sites", json={"name": "Depot"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    key = admin.post("/api/keys", json={"name": "wall", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    other = {"name": "other", "scope": "viewer", "site_ids": [elsewhere["id"]]}
    stranger = admin.post("/api/keys", json=other).json()["key"]
    viewer = live_api.client(key)
    still = f"/api/cameras/{camera['id']}/still.jpg"
    never = viewer.get(still)
    assert never.status_code == 404 and never.headers["Retry-After"] == "2", never.text
    assert live_api.client(stranger).get(still).status_code == 403

    children.popen(publisher(owning_edge.url(camera), 60, size="1280x720", gop_s=1))

    def picture(etag_not: str = "") -> httpx.Response | None:
        got = viewer.get(still)
        return got if got.status_code == 200 and got.headers["ETag"] != etag_not else None

    first = eventually(picture, 20, what="the first picture")
    assert first.headers["content-type"] == "image/jpeg" and first.content[:2] == b"\xff\xd8"
    assert picture_size(first.content) == (640, 360)  # the 1280x720 main, scaled
    assert first.headers["Cache-Control"] == "private, max-age=2"
    etag = first.headers["ETag"]
    again = viewer.get(still, headers={"If-None-Match": etag})
    assert again.status_code == 304 or again.headers["ETag"] != etag  # (or a new one came)

    newer = eventually(lambda: picture(etag), 15, what="a newer picture")
    taken = [parsedate_to_datetime(r.headers["Last-Modified"]) for r in (first, newer)]
    assert taken[1] > taken[0] and newer.content != first.content

    children.popen(publisher(owning_edge.url(camera) + "/sub", 60, size="320x180", gop_s=1))
    from_sub = eventually(lambda: (p := picture()) is not None and picture_size(p.content)
                          == (320, 180), 20, what="a picture of the sub-stream")  # fmt: skip
    assert from_sub

    children.stop_all()
    eventually(lambda: not owning_edge.edge.live_cameras, 15, what="the camera offline")
    last = viewer.get(still)
    assert last.status_code == 200
    holds(lambda: viewer.get(still).headers["ETag"] == last.headers["ETag"], 6,
          what="the last picture kept")  # fmt: skip


def test_an_events_picture_is_cut_from_the_recording_once_and_kept(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    elsewhere = admin.post("/api/sites", json={"name": "Depot"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    other = {"name": "other", "scope": "viewer", "site_ids": [elsewhere["id"]]}
    stranger = live_api.client(admin.post("/api/keys", json=other).json()["key"])
    publishing = children.popen(publisher(owning_edge.url(camera), 60, size="1280x720"))
    eventually(lambda: len(list(owning_edge.source(camera).glob("seg_*.ts"))) >= 3, 30,
               what="three segments recorded")  # fmt: skip
    posted = admin.post("/api/events", json={"events": [
        {"camera_id": camera["id"], "type": "motion", "at": past(3.0), "detail": {}},
        {"camera_id": camera["id"], "type": "motion", "at": past(3600.0), "detail": {}},
    ]})  # fmt: skip
    assert posted.status_code == 201, posted.text
    found = admin.get("/api/events", params={"camera_id": camera["id"], "type": "motion"})
    recent, old = sorted(found.json()["data"], key=lambda e: e["at"], reverse=True)
    still = f"/api/events/{recent['id']}/still.jpg"

    def cut() -> httpx.Response | None:
        got = admin.get(still)
        return got if got.status_code == 200 else None

    first = eventually(cut, 20, what="the event's picture")
    assert first.headers["content-type"] == "image/jpeg"
    assert picture_size(first.content) == (640, 360)
    assert "immutable" in first.headers["Cache-Control"]
    kept = owning_edge.settings.media_root / "events" / str(recent["id"]) / "still.jpg"
    assert kept.read_bytes() == first.content
    children.stop_all()
    assert publishing.returncode is not None
    again = admin.get(still, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert admin.get(still).content == first.content  # read back, not cut again
    assert stranger.get(still).status_code == 403
    assert admin.get(f"/api/events/{old['id']}/still.jpg").status_code == 404
    assert admin.get("/api/events/999999999/still.jpg").status_code == 404
    assert admin.get(f"/api/events/{2**63}/still.jpg").status_code == 422


def past(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()
