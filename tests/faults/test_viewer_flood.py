"""One viewer key opening session after session on a camera: it is one viewer, it holds a
few sessions (the oldest ended as new ones open), and it is one viewer_joined event."""

from tests.api_harness import Api
from tests.waiting import eventually
from video_service.shared.viewer_sessions import PER_HOLDER, count_viewers


def test_a_key_opening_300_sessions_is_one_viewer_and_one_event(origin_api: Api) -> None:
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    camera = admin.post("/api/cameras", json={"site_id": site, "name": "Gate"}).json()["id"]
    key = admin.post("/api/keys", json={"name": "v", "scope": "viewer",
                                        "site_ids": [site]}).json()["key"]  # fmt: skip
    viewer = origin_api.client(key)
    opened = [viewer.post(f"/api/cameras/{camera}/viewers") for _ in range(300)]
    assert all(o.status_code == 201 for o in opened)
    assert {o.json()["viewers"] for o in opened} == {1}
    assert opened[-1].json()["viewers"] == 1
    live = origin_api.app_state.live
    assert live is not None and count_viewers(live.redis, camera, now=0) == 1
    sessions = [o.json()["session_id"] for o in opened]
    renew = f"/api/cameras/{camera}/viewers/{{}}/renew"
    assert all(viewer.post(renew.format(s)).status_code == 200 for s in sessions[-PER_HOLDER:])
    assert viewer.post(renew.format(sessions[0])).status_code == 404, "ended: the oldest"
    # Another key watching makes two.
    other = admin.post(f"/api/cameras/{camera}/viewers").json()
    assert other["viewers"] == 2

    def joined() -> list[object]:
        params = {"camera_id": camera, "type": "viewer_joined", "limit": 500}
        found: list[object] = admin.get("/api/events", params=params).json()["data"]
        return found

    eventually(lambda: len(joined()) == 2, 5)
