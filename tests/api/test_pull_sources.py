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
    lan = {"site_id": site, "name": "ok", "mode": "pull", "source_url": "rtsp://192.168.1.64/x"}
    camera = admin.post("/api/cameras", json=lan).json()
    moved = admin.patch(f"/api/cameras/{camera['id']}", json={"source_url": "rtsp://127.0.0.1/"})
    assert moved.status_code == 422 and "may not reach" in moved.text


def test_pull_credentials_are_sealed_at_rest_and_never_returned(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    body = {"site_id": site, "name": "dock", "mode": "pull",
            "source_url": "rtsp://admin:s3cr%3At@192.168.1.64:554/Streaming/101"}  # fmt: skip
    camera = admin.post("/api/cameras", json=body).json()
    assert camera["source_url"] == "rtsp://192.168.1.64:554/Streaming/101"
    assert "s3cr" not in admin.get(f"/api/cameras/{camera['id']}").text
    assert "s3cr" not in admin.get("/api/cameras").text
    with session_scope(api.sessions) as session:
        row = session.execute(text("SELECT source_url, source_secret FROM cameras")).one()
    assert "s3cr" not in row.source_url and "admin" not in row.source_url
    assert (
        row.source_secret and "s3cr" not in row.source_secret and "admin" not in row.source_secret
    )
