"""The control API over real HTTP (uvicorn in a thread) and a real database file."""

import hashlib

import httpx
import pytest
from sqlalchemy import select, text

from tests.api_harness import ADMIN_KEY, Api
from video_service.api.db import session_scope
from video_service.api.events import record_event
from video_service.api.settings import ApiSettings
from video_service.edge.events import EventType


def make_site(client: httpx.Client, name: str = "HQ", tier: int = 3) -> dict[str, object]:
    response = client.post("/api/sites", json={"name": name, "tier": tier})
    assert response.status_code == 201, response.text
    return dict(response.json())


def make_camera(client: httpx.Client, site_id: object, **extra: object) -> dict[str, object]:
    response = client.post("/api/cameras", json={"site_id": site_id, "name": "Gate", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_missing_or_wrong_key_gets_401(api: Api) -> None:
    for client in (api.client(None), api.client("sv_wrong")):
        response = client.get("/api/cameras")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "key" in response.json()["detail"]


def test_a_camera_shows_its_password_once_and_only_the_ha1_is_kept(api: Api) -> None:
    admin = api.client()
    site = make_site(admin)
    created = make_camera(admin, site["id"])
    password = created["rtsp_password"]
    assert isinstance(password, str) and len(password) >= 20
    assert created["publish_url"] == f"rtsp://127.0.0.1:8554/cam/{created['id']}"
    fetched = admin.get(f"/api/cameras/{created['id']}").json()
    assert "rtsp_password" not in fetched
    assert fetched["rtsp_username"] == created["rtsp_username"]
    with session_scope(api.app_state.sessions) as session:  # type: ignore[attr-defined]
        row = session.execute(text("SELECT * FROM cameras")).mappings().one()
    assert password not in {str(value) for value in row.values()}
    expected = hashlib.md5(f"{created['rtsp_username']}:sparc-video:{password}".encode())
    assert row["digest_ha1"] == expected.hexdigest()


def test_pull_camera_credentials_are_never_returned(api: Api) -> None:
    admin = api.client()
    site = make_site(admin)
    camera = make_camera(
        admin, site["id"], mode="pull", source_url="rtsp://user:s3cret@10.0.0.5:554/stream1"
    )
    assert camera["source_url"] == "rtsp://10.0.0.5:554/stream1"
    assert camera["rtsp_password"] is None and camera["publish_url"] is None
    listed = admin.get("/api/cameras").text
    assert "s3cret" not in listed and "user:" not in listed
    refused = admin.post("/api/cameras", json={"site_id": site["id"], "name": "x", "mode": "pull"})
    assert refused.status_code == 422 and "source_url" in refused.text
    bad = admin.post(
        "/api/cameras", json={"site_id": site["id"], "name": "x", "source_url": "http://x"}
    )
    assert bad.status_code == 422


def test_list_paginates_and_update_disable_delete_work(api: Api) -> None:
    admin = api.client()
    site = make_site(admin)
    ids = [make_camera(admin, site["id"])["id"] for _ in range(5)]
    first = admin.get("/api/cameras", params={"limit": 2}).json()
    assert first["count"] == 5 and [c["id"] for c in first["data"]] == ids[:2]
    page = admin.get("/api/cameras", params={"limit": 2, "after": first["next"]}).json()
    assert [c["id"] for c in page["data"]] == ids[2:4]
    last = admin.get("/api/cameras", params={"limit": 2, "after": page["next"]}).json()
    assert [c["id"] for c in last["data"]] == ids[4:] and last["next"] is None
    offset = admin.get("/api/cameras", params={"offset": 2})
    assert offset.status_code == 422
    assert offset.json()["detail"][0]["loc"] == ["query", "offset"]
    assert "after=" in offset.json()["detail"][0]["msg"]
    assert admin.get("/api/cameras", params={"after": "bm9wZQ"}).status_code == 422
    renamed = admin.patch(f"/api/cameras/{ids[0]}", json={"name": "Lobby"}).json()
    assert renamed["name"] == "Lobby"
    assert admin.post(f"/api/cameras/{ids[0]}/disable").json()["enabled"] is False
    assert admin.delete(f"/api/cameras/{ids[1]}").status_code == 204
    assert admin.get(f"/api/cameras/{ids[1]}").status_code == 404
    assert admin.delete(f"/api/sites/{site['id']}").status_code == 409
    for camera_id in ids[2:] + ids[:1]:
        admin.delete(f"/api/cameras/{camera_id}")
    assert admin.delete(f"/api/sites/{site['id']}").status_code == 204


def test_unknown_ids_and_bad_json_are_4xx_never_500(api: Api) -> None:
    admin = api.client()
    assert admin.get("/api/cameras/nope").status_code == 404
    assert admin.get("/api/sites/nope").status_code == 404
    assert admin.patch("/api/sites/nope", json={"tier": 2}).status_code == 404
    assert admin.post("/api/cameras", json={"site_id": "nope", "name": "x"}).status_code == 404
    broken = admin.post(
        "/api/sites", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert admin.post("/api/sites", json={"name": "", "tier": "high"}).status_code == 422
    assert admin.get("/api/cameras", params={"limit": 100000}).status_code == 422


def test_a_viewer_key_sees_only_its_sites(api: Api) -> None:
    admin = api.client()
    mine, theirs = make_site(admin, "Mine"), make_site(admin, "Theirs")
    my_camera = make_camera(admin, mine["id"])
    their_camera = make_camera(admin, theirs["id"])
    key = admin.post(
        "/api/keys", json={"name": "guard", "scope": "viewer", "site_ids": [mine["id"]]}
    ).json()["key"]
    viewer = api.client(key)
    assert [c["id"] for c in viewer.get("/api/cameras").json()["data"]] == [my_camera["id"]]
    assert viewer.get(f"/api/cameras/{my_camera['id']}").status_code == 200
    assert viewer.get(f"/api/cameras/{their_camera['id']}").status_code == 403
    assert viewer.get(f"/api/sites/{theirs['id']}").status_code == 403
    assert viewer.get("/api/cameras", params={"site_id": theirs["id"]}).status_code == 403
    assert viewer.post("/api/sites", json={"name": "x"}).status_code == 403
    assert viewer.delete(f"/api/cameras/{my_camera['id']}").status_code == 403
    unknown_site = admin.post(
        "/api/keys", json={"name": "g", "scope": "viewer", "site_ids": ["nope"]}
    )
    assert unknown_site.status_code == 422 and "nope" in unknown_site.text


def test_events_newest_first_filtered_by_camera_and_type(api: Api) -> None:
    admin = api.client()
    site = make_site(admin)
    a, b = make_camera(admin, site["id"]), make_camera(admin, site["id"])
    with session_scope(api.app_state.sessions) as session:  # type: ignore[attr-defined]
        record_event(session, EventType.CAMERA_ONLINE, camera_id=a["id"], site_id=site["id"])
        record_event(session, EventType.PUBLISH_REFUSED, camera_id=b["id"], site_id=site["id"],
                     reason="wrong password")  # fmt: skip
        record_event(session, EventType.CAMERA_OFFLINE, camera_id=a["id"], site_id=site["id"])
    newest = admin.get("/api/events", params={"limit": 2}).json()["data"]
    assert [e["type"] for e in newest] == ["camera_offline", "publish_refused"]
    only_a = admin.get("/api/events", params={"camera_id": a["id"]}).json()["data"]
    assert [e["type"] for e in only_a] == ["camera_offline", "camera_online"]
    refused = admin.get("/api/events", params={"type": "publish_refused"}).json()["data"]
    assert refused[0]["detail"] == {"reason": "wrong password"}
    assert admin.get("/api/events", params={"type": "Not A Type!"}).status_code == 422
    assert admin.get("/api/events", params={"type": "motion.start"}).json()["data"] == []
    other = make_site(admin, "Other")
    key = admin.post(
        "/api/keys", json={"name": "v", "scope": "viewer", "site_ids": [other["id"]]}
    ).json()["key"]
    assert api.client(key).get("/api/events").json()["data"] == []


def test_openapi_docs_are_served(api: Api) -> None:
    client = api.client(None)
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/sites", "/api/cameras", "/api/events", "/api/keys"} <= set(paths)


def test_placeholder_admin_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="real secret"):
        ApiSettings(admin_key="changethis")


def test_no_row_holds_a_key_in_clear(api: Api) -> None:
    with session_scope(api.app_state.sessions) as session:  # type: ignore[attr-defined]
        hashes = list(session.scalars(select(text("key_hash")).select_from(text("api_keys"))))
    assert hashes == [hashlib.sha256(ADMIN_KEY.encode()).hexdigest()]
