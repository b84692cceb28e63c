"""Playback through the embedded origin: a signed URL for a viewer key, tokens on every URI,
403 for forged, expired and other-stream tokens, and steering polls that keep the session."""

import http.client
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import m3u8

from cdn.signing import OriginSigner, StreamGrant
from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher
from tests.processes import Children
from tests.signed_urls import tokens_everywhere
from tests.waiting import eventually


def sneaky_paths(mine: str, theirs: str) -> list[str]:
    return [
        f"{mine}/../{theirs}/master.m3u8",
        f"{mine}/%2e%2e/{theirs}/master.m3u8",
        f"{mine}/source/../../{theirs}/master.m3u8",
        f"{mine}/../../../etc/passwd",
        f"{mine}/source/seg_0.ts%00.m3u8",
        f"{mine}/source/..%2f..%2fx",
        f"{mine}/source/%01.m3u8",
    ]


def raw_get(netloc: str, target: str) -> tuple[int, str]:
    """A GET of exactly `target`, sent as written (HTTP clients would normalise `..`)."""
    host, port = netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target)
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def test_a_viewer_key_gets_a_signed_url_that_plays_through_the_origin(
    origin_api: Api,
    origin_edge: RunningEdge,
    tmp_path: Path,
    children: Children,
) -> None:
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ", "tier": 2}).json()
    other = admin.post("/api/sites", json={"name": "Elsewhere"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    quiet = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Never"}).json()
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    stranger = admin.post("/api/keys", json={"name": "x", "scope": "viewer",
                                             "site_ids": [other["id"]]}).json()["key"]  # fmt: skip
    viewer = origin_api.client(key)
    assert origin_api.client(stranger).get(
        f"/api/cameras/{camera['id']}/playback").status_code == 403  # fmt: skip
    assert viewer.get("/api/cameras/nope/playback").status_code == 404
    anonymous = origin_api.client(None).get(f"/api/cameras/{camera['id']}/playback")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    bad_region = viewer.get(f"/api/cameras/{camera['id']}/playback", params={"region": "EU!"})
    assert bad_region.status_code == 422
    assert "/api/cameras/{camera_id}/playback" in admin.get("/openapi.json").json()["paths"]
    offline = viewer.get(f"/api/cameras/{quiet['id']}/playback")
    assert offline.status_code == 409 and "offline" in offline.json()["detail"]

    run = children.popen(publisher(origin_edge.url(camera), 30), stderr=subprocess.DEVNULL)
    try:
        source = origin_edge.source(camera) / "index.m3u8"
        eventually(lambda: source.exists() and len(m3u8.load(str(source)).segments) >= 2)
        answer = viewer.get(f"/api/cameras/{camera['id']}/playback", params={"region": "eu"})
        assert answer.status_code == 200, answer.text
        playback = answer.json()
        assert playback["cdn"] == "origin" and playback["expires_at"] > 0
        player = httpx.Client(timeout=10)
        master = player.get(playback["url"])
        assert master.status_code == 200
        assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        parsed = m3u8.loads(master.text)
        assert parsed.content_steering.pathway_id == "origin"
        assert all(p.stream_info.pathway_id == "origin" for p in parsed.playlists)
        tokens_everywhere(master.text)
        source_variant = next(p.uri for p in parsed.playlists if "/source/" in p.uri)
        media = player.get(source_variant)
        assert media.status_code == 200 and media.headers["cache-control"] == "private, max-age=1"
        for token in tokens_everywhere(media.text):
            assert token
        segment_uri = next(s.uri for s in m3u8.loads(media.text).segments)
        segment_url = source_variant.rsplit("/", 1)[0] + "/" + segment_uri
        segment = player.get(segment_url)
        assert segment.status_code == 200 and segment.content[:1] == b"\x47"
        assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"

        token = parse_qs(urlsplit(segment_url).query)["token"][0]
        forged = segment_url.replace(token, token[:-1] + ("0" if token[-1] != "0" else "1"))
        assert player.get(forged).status_code == 403
        secret = (tmp_path / "origin.key").read_text().strip()
        expired = OriginSigner(secret).token(StreamGrant(f"/live/{camera['id']}/", 1_000_000))
        assert player.get(segment_url.replace(token, expired)).status_code == 403
        elsewhere = OriginSigner(secret).token(StreamGrant(f"/live/{quiet['id']}/", 4_000_000_000))
        assert player.get(segment_url.replace(token, elsewhere)).status_code == 403
        assert player.get(segment_url.split("?")[0]).status_code == 403
        # Camera A's token never reaches B (nor outside the media root) by way of `..`,
        # however spelt: the path is refused before the token is even looked at.
        master_url = urlsplit(playback["url"])
        a, b = camera["id"], quiet["id"]
        for sneaky in sneaky_paths(f"/media/live/{a}", str(b)):
            status, body = raw_get(master_url.netloc, f"{sneaky}?{master_url.query}")
            assert status == 404 and str(b) not in body and "#EXT" not in body, (sneaky, body)

        steering_uri = parsed.content_steering.uri
        steer = player.get(steering_uri)
        assert steer.status_code == 200
        assert steer.json() == {"VERSION": 1, "TTL": 10, "PATHWAY-PRIORITY": ["origin"]}
        bogus = steering_uri.replace(playback["session_id"], "0" * 32)
        assert player.get(bogus).status_code == 404
        player.close()
    finally:
        run.kill()
        run.wait()
