"""The API refuses a pull camera's URL that is not plain RTSP or points where the edge must
not reach, saying why, with no edge running (nothing is ever dialled); credentials it accepts
are sealed at rest and never returned."""

from sqlalchemy import text

from tests.api_harness import Api
from video_service.api.db import session_scope


def test_injection_and_forbidden_destinations_are_refused_by_the_api(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    for url, reason in (
        ("rtsp://10.0.0.5/x\r\nSET pwned 1", "control or whitespace"),
        ("rtsp://127.0.0.1:6379/", "may not reach"),
        ("rtsp://localhost/x", "may not reach"),
        ("rtsp://169.254.169.254/latest/meta-data", "may not reach"),
        ("rtsp://10.96.0.1/x", "may not reach"),
        ("rtsps://[::1]/x", "may not reach"),
        # IPv6 spellings of refused IPv4 addresses: mapped, compatible, NAT64, 6to4
        ("rtsp://[::ffff:127.0.0.1]:29600/x", "may not reach"),
        ("rtsps://[::ffff:169.254.169.254]/latest", "may not reach"),
        ("rtsp://[::ffff:10.96.0.1]/x", "may not reach"),
        ("rtsp://[64:ff9b::7f00:1]/x", "may not reach"),
        ("rtsp://[::127.0.0.1]/x", "may not reach"),
        ("rtsp://[2002:a9fe:a9fe::1]/x", "may not reach"),
        ("gopher://10.0.0.5/x", "rtsp:// or rtsps://"),
    ):
        body = {"site_id": site, "name": "cam", "mode": "pull", "source_url": url}
        refused = admin.post("/api/cameras", json=body)
        assert refused.status_code == 422, (url, refused.text)
        assert reason in refused.text, (url, refused.text)
        # The sub-stream's URL is checked exactly as the main's, and the refusal names it.
        lan = "rtsp://192.168.1.64/main"
        sub = {"site_id": site, "name": "cam", "mode": "pull", "source_url": lan,
               "sub_source_url": url}  # fmt: skip
        refused = admin.post("/api/cameras", json=sub)
        assert refused.status_code == 422, (url, refused.text)
        assert reason in refused.text and "sub_source_url" in refused.text, (url, refused.text)
    assert admin.get("/api/cameras").json()["count"] == 0, "nothing refused was kept"
    lan = {"site_id": site, "name": "ok", "mode": "pull", "source_url": "rtsp://192.168.1.64/x"}
    camera = admin.post("/api/cameras", json=lan).json()
    moved = admin.patch(f"/api/cameras/{camera['id']}", json={"source_url": "rtsp://127.0.0.1/"})
    assert moved.status_code == 422 and "may not reach" in moved.text
    moved = admin.patch(f"/api/cameras/{camera['id']}",
                        json={"sub_source_url": "rtsp://[fe80::1]/sub"})  # fmt: skip
    assert moved.status_code == 422 and "may not reach" in moved.text
    assert admin.get(f"/api/cameras/{camera['id']}").json()["sub_source_url"] is None


def test_a_push_camera_takes_no_sub_source_url(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    body = {"site_id": site, "name": "cam", "sub_source_url": "rtsp://192.168.1.64/sub"}
    refused = admin.post("/api/cameras", json=body)
    assert refused.status_code == 422 and "sub_publish_url" in refused.text
    camera = admin.post("/api/cameras", json={"site_id": site, "name": "cam"}).json()
    refused = admin.patch(f"/api/cameras/{camera['id']}", json=body)
    assert refused.status_code == 422 and "pull cameras" in refused.text


def test_pull_credentials_are_sealed_at_rest_and_never_returned(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    body = {"site_id": site, "name": "dock", "mode": "pull",
            "source_url": "rtsp://admin:s3cr%3At@192.168.1.64:554/Streaming/101"}  # fmt: skip
    camera = admin.post("/api/cameras", json=body).json()
    assert camera["source_url"] == "rtsp://192.168.1.64:554/Streaming/101"
    # A viewer of the site sees no source (a query string may hold a camera's token).
    key = admin.post("/api/keys", json={"name": "v", "scope": "viewer",
                                        "site_ids": [site]}).json()["key"]  # fmt: skip
    viewer = api.client(key)
    assert viewer.get(f"/api/cameras/{camera['id']}").json()["source_url"] is None
    assert viewer.get("/api/cameras").json()["data"][0]["source_url"] is None
    assert "s3cr" not in admin.get(f"/api/cameras/{camera['id']}").text
    assert "s3cr" not in admin.get("/api/cameras").text
    with session_scope(api.sessions) as session:
        row = session.execute(text("SELECT source_url, source_secret FROM cameras")).one()
    assert "s3cr" not in row.source_url and "admin" not in row.source_url
    assert (
        row.source_secret and "s3cr" not in row.source_secret and "admin" not in row.source_secret
    )


def test_a_sub_stream_source_is_sealed_changed_and_forgotten(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    body = {"site_id": site, "name": "dock", "mode": "pull",
            "source_url": "rtsp://192.168.1.64:554/Streaming/101",
            "sub_source_url": "rtsp://admin:s3cr%3At@192.168.1.64:554/Streaming/102"}  # fmt: skip
    camera = admin.post("/api/cameras", json=body).json()
    assert camera["sub_source_url"] == "rtsp://192.168.1.64:554/Streaming/102"
    assert "s3cr" not in admin.get(f"/api/cameras/{camera['id']}").text
    with session_scope(api.sessions) as session:
        row = session.execute(text("SELECT sub_source_url, sub_source_secret FROM cameras")).one()
    assert "s3cr" not in row.sub_source_url and "admin" not in row.sub_source_url
    assert row.sub_source_secret and "s3cr" not in row.sub_source_secret
    path = f"/api/cameras/{camera['id']}"
    renamed = admin.patch(path, json={"name": "Dock"}).json()
    assert renamed["sub_source_url"] == camera["sub_source_url"], "left as it was"
    moved = admin.patch(path, json={"sub_source_url": "rtsp://192.168.1.65/sub"}).json()
    assert moved["sub_source_url"] == "rtsp://192.168.1.65:554/sub"
    assert admin.patch(path, json={"sub_source_url": None}).json()["sub_source_url"] is None
    with session_scope(api.sessions) as session:
        row = session.execute(text("SELECT sub_source_url, sub_source_secret FROM cameras")).one()
    assert row.sub_source_url is None and row.sub_source_secret is None
