"""What a hostile client sends the API: integers at 2^63, bodies of megabytes (declared and
streamed), huge arrays, NUL and bidirectional overrides in names, rejected values of a
megabyte (not echoed back). Against SQLite and PostgreSQL: 4xx with a reason, never 5xx."""

import httpx

from tests.api_harness import Api

BIG = 2**63


def test_integers_at_2_to_the_63_are_refused_with_422(api: Api) -> None:
    admin = api.client()
    for path, params in (
        ("/api/cameras", {"limit": BIG}),
        ("/api/events", {"limit": BIG}),
        ("/api/sites", {"offset": BIG}),
        ("/api/events", {"after": "OTIyMzM3MjAzNjg1NDc3NTgwOA"}),  # base64 of 2^63
    ):
        assert admin.get(path, params=params).status_code == 422, (path, params)
    assert admin.post("/api/sites", json={"name": "x", "tier": BIG}).status_code == 422
    assert admin.post("/api/sites", json={"name": "x", "tier": -BIG}).status_code == 422


def test_large_bodies_are_refused_before_they_are_read(api: Api) -> None:
    admin = api.client()
    ten_megabytes = b'{"name": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    answer = admin.post("/api/sites", content=ten_megabytes,
                        headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 413 and len(answer.content) < 300
    five_million = b"[" + b"0," * 5_000_000 + b"0]"
    assert admin.post("/api/events", content=five_million,
                      headers={"content-type": "application/json"}).status_code == 413  # fmt: skip

    def chunks() -> object:
        for _ in range(200):
            yield b"x" * 1024

    streamed = admin.post("/api/sites", content=chunks(),  # type: ignore[arg-type]
                          headers={"content-type": "application/json"})  # fmt: skip
    assert streamed.status_code == 413, "no Content-Length: counted as it streams"


def test_a_rejected_value_is_not_echoed_back_whole(api: Api) -> None:
    admin = api.client()
    answer = admin.post("/api/sites", json={"name": "n" * 60_000})
    assert answer.status_code == 422 and len(answer.content) < 2000
    assert "60000 long" in answer.text


def test_nul_and_bidirectional_overrides_are_refused_in_names(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    for name in ("a\x00b", "evil\u202etxt.exe", "line\nbreak", "\u2066x"):
        assert admin.post("/api/sites", json={"name": name}).status_code == 422, repr(name)
        camera = admin.post("/api/cameras", json={"site_id": site, "name": name})
        assert camera.status_code == 422, repr(name)
        key = admin.post("/api/keys", json={"name": name, "scope": "admin"})
        assert key.status_code == 422, repr(name)
    assert admin.post("/api/sites", json={"name": "Zürich, 東京"}).status_code == 201


def test_times_carry_their_zone_and_errors_are_documented(api: Api) -> None:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    assert site["created_at"].endswith(("+00:00", "Z")), site["created_at"]
    listed = admin.get("/api/sites").json()["data"][0]["created_at"]
    assert listed.endswith(("+00:00", "Z"))
    schema = httpx.get(f"{api.url}/openapi.json").json()
    responses = schema["paths"]["/api/cameras/{camera_id}"]["get"]["responses"]
    assert {"401", "403", "404", "422"} <= set(responses)
