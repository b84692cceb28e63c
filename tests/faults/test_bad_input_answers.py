"""Input that once made the API answer 500 answers 4xx now (or 503, for a dependency that is
away), and nothing is stored: text that is not Unicode, JSON nested to exhaust a parser,
times a zone's offset pushes past the calendar, digits that are not ASCII, ranges past
year 9999, NUL characters PostgreSQL refuses, the broker away, the database's disk full."""

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from video_service.api.settings import ApiSettings
from workers.base.ports import free_port

MONSTERS = ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59")


@pytest.fixture
def scene(api: Api) -> tuple[httpx.Client, str, str]:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    camera = admin.post("/api/cameras", json={"site_id": site, "name": "Gate"}).json()["id"]
    return admin, site, camera


def _raw(client: httpx.Client, method: str, path: str, body: str) -> httpx.Response:
    """A JSON body as text, so that it may hold what `json=` would not send (\\ud800)."""
    return client.request(method, path, content=body.encode(),
                          headers={"Content-Type": "application/json"})  # fmt: skip


def test_event_details_that_are_not_unicode_or_nest_too_deep_are_422(
    api: Api, scene: tuple[httpx.Client, str, str]
) -> None:
    admin, _, camera = scene
    at = datetime.now(UTC).isoformat()
    for detail in ('{"k": "\\ud800"}', '{"k": "a\\udfffb"}', "[" * 300 + "]" * 300):
        detail_field = detail if detail.startswith("{") else '{"deep": ' + detail + "}"
        event = (
            f'{{"camera_id": "{camera}", "type": "x.y", "at": "{at}", "detail": {detail_field}}}'
        )
        body = f'{{"events": [{event}]}}'
        answer = _raw(admin, "POST", "/api/events", body)
        assert answer.status_code == 422, (detail[:20], answer.status_code, answer.text[:300])
    assert admin.get("/api/events", params={"type": "x.y"}).json()["data"] == []


def test_names_holding_a_lone_surrogate_are_422_and_the_answer_says_so(
    api: Api, scene: tuple[httpx.Client, str, str]
) -> None:
    admin, site, _ = scene
    for path, body in (
        ("/api/sites", '{"name": "a\\udfffb"}'),
        ("/api/cameras", f'{{"site_id": "{site}", "name": "\\udfff"}}'),
        ("/api/keys", '{"name": "\\ud800", "scope": "admin"}'),
    ):
        answer = _raw(admin, "POST", path, body)
        assert answer.status_code == 422, (path, answer.status_code, answer.text[:300])
        said = answer.json()["detail"][0]  # what was refused, echoed escaped
        assert said["loc"][-1] == "name" and said["input"].strip("ab") in ("\udfff", "\ud800")
    assert len(admin.get("/api/sites").json()["data"]) == 1


def test_times_past_the_calendar_digits_not_ascii_and_far_ranges_are_4xx(
    api: Api, scene: tuple[httpx.Client, str, str]
) -> None:
    admin, _, camera = scene
    base = f"/api/cameras/{camera}"
    for moment in MONSTERS:
        for path, params in (
            ("/api/events", {"from": moment}),
            ("/api/events", {"to": moment}),
            (f"{base}/recordings", {"from": moment}),
            (f"{base}/playback", {"start": moment, "end": "2026-01-01T00:00:00Z"}),
            (f"{base}/export", {"start": moment, "end": "2026-01-01T00:00:00Z"}),
        ):
            answer = admin.get(path, params=params)
            assert answer.status_code == 422, (path, params, answer.status_code, answer.text)
        event = {"camera_id": camera, "type": "x.y", "at": moment, "detail": {}}
        assert admin.post("/api/events", json={"events": [event]}).status_code == 422
    assert admin.get("/api/events", params={"after": "²"}).status_code == 422
    assert admin.get("/api/events", params={"after": "\uff11\uff12"}).status_code == 422
    unreadable = {"Last-Event-ID": "²".encode()}
    with admin.stream("GET", "/api/events/stream", headers=unreadable) as opened:
        assert opened.status_code == 200  # an id it cannot read: from now on
    for raw in ("%00", "a%00b", "%00" * 32):
        answer = admin.get(f"/api/sites/{raw}")
        assert answer.status_code in (404, 422), (raw, answer.status_code, answer.text)
    body = {"site_id": "a\x00b", "name": "cam"}
    assert admin.post("/api/cameras", json=body).status_code in (404, 422)
    assert admin.patch(f"{base}", json={"name": "x\x00"}).status_code == 422


def test_a_recording_playlist_past_year_9999_is_404(origin_api: Api) -> None:
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    camera = admin.post("/api/cameras", json={"site_id": site, "name": "Gate"}).json()["id"]
    delivery = origin_api.app_state.delivery
    token = delivery.origin_signer.token(delivery.grant(camera))
    path = f"/media/live/{camera}/source/vod_999999999990000_999999999999999.m3u8"
    answer = admin.get(path, params={"token": token})
    assert answer.status_code == 404, answer.text


def test_the_pools_view_with_the_broker_away_is_503(tmp_path: Path) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY, redis_url=nowhere)
    for api in run_api(settings, live_services(settings, 30.0)):
        answer = api.client().get("/api/ops/pools", timeout=60)
        assert answer.status_code == 503, answer.text


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "state"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root; CI runs as root")
def test_writes_on_a_full_sqlite_disk_are_503_reads_go_on_and_writes_come_back(
    small_disk: Path,
) -> None:
    for api in run_api(ApiSettings(state_dir=small_disk, admin_key=ADMIN_KEY)):
        admin = api.client()
        assert admin.post("/api/sites", json={"name": "before"}).status_code == 201
        filler = small_disk / "filler"
        with filler.open("wb") as out, pytest.raises(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        names = [f"site {n} " + "x" * 150 for n in range(50)]
        refused = [admin.post("/api/sites", json={"name": name}) for name in names]
        full = [r for r in refused if r.status_code != 201]
        assert full and all(r.status_code == 503 for r in full), [r.text for r in refused]
        assert "disk is full" in full[0].text
        assert admin.get("/api/sites").status_code == 200
        filler.unlink()
        assert admin.post("/api/sites", json={"name": "after"}).status_code == 201


def test_a_caller_without_a_key_hears_401_before_anything_is_judged(
    api: Api, scene: tuple[httpx.Client, str, str]
) -> None:
    _, _, camera = scene
    nobody = api.client(None)
    for path in (f"/api/cameras/{camera}/export", f"/api/cameras/{camera}/recordings",
                 "/api/events/1/clip", f"/api/cameras/{camera}/playback"):  # fmt: skip
        answer = nobody.get(path, params={"start": "garbage", "end": "", "from": "x"})
        assert answer.status_code == 401, (path, answer.status_code, answer.text)


def test_the_openapi_pages_are_public_and_a_setting_turns_them_off(tmp_path: Path) -> None:
    for docs, expected in ((True, 200), (False, 404)):
        settings = ApiSettings(state_dir=tmp_path / str(docs), admin_key=ADMIN_KEY, api_docs=docs)
        for api in run_api(settings):
            nobody = api.client(None)
            assert [nobody.get(p).status_code for p in ("/openapi.json", "/docs", "/redoc")] == [
                expected
            ] * 3
