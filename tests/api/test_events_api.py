"""Events from outside the pipeline: validated batches, the filtered keyset list, and the
server-sent stream; against SQLite and PostgreSQL."""

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx

from tests.api_harness import ADMIN_KEY, Api


def setup(api: Api) -> tuple[httpx.Client, str, list[str]]:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    cameras = [
        admin.post("/api/cameras", json={"site_id": site, "name": f"c{n}"}).json()["id"]
        for n in range(2)
    ]
    return admin, site, cameras


def event(camera: str, type_: str = "motion.start", **extra: object) -> dict[str, object]:
    at = datetime.now(UTC).isoformat()
    return {"camera_id": camera, "type": type_, "at": at, "detail": {"zone": 3}, **extra}


def test_a_batch_is_stored_and_listed_newest_first_with_its_site(api: Api) -> None:
    admin, site, (a, b) = setup(api)
    batch = [event(a, "motion.start"), event(b, "access.door_forced"), event(a, "motion.end")]
    stored = admin.post("/api/events", json={"events": batch})
    assert stored.status_code == 201 and stored.json() == {"stored": 3}
    listed = admin.get("/api/events", params={"limit": 3}).json()["data"]
    assert [e["type"] for e in listed] == ["motion.end", "access.door_forced", "motion.start"]
    assert {e["site_id"] for e in listed} == {site} and listed[0]["detail"] == {"zone": 3}
    only_b = admin.get("/api/events", params={"camera_id": b}).json()["data"]
    assert [e["type"] for e in only_b] == ["access.door_forced"]
    by_type = admin.get("/api/events", params={"type": "motion.end"}).json()["data"]
    assert [e["camera_id"] for e in by_type] == [a]
    by_site = admin.get("/api/events", params={"site_id": site, "limit": 500}).json()["data"]
    assert len(by_site) == 3


def test_a_batch_with_one_bad_item_is_refused_whole_naming_its_index_and_field(api: Api) -> None:
    admin, _, (a, _b) = setup(api)
    good = event(a)
    for bad, field in (
        ({**good, "type": "Motion Start!"}, "type"),
        ({**good, "camera_id": "f" * 32}, "camera_id"),
        ({**good, "at": "2026-11-28T10:00:00"}, "at"),  # no time zone
        ({**good, "at": "1999-01-01T00:00:00Z"}, "at"),  # past retention
        ({**good, "detail": {"x": "y" * 5000}}, "detail"),
        ({**good, "extra": 1}, "extra"),
    ):
        refused = admin.post("/api/events", json={"events": [good, good, bad]})
        assert refused.status_code == 422, (field, refused.text)
        locations = [tuple(error["loc"]) for error in refused.json()["detail"]]
        assert ("body", "events", 2, field) in locations, (field, locations)
    assert admin.get("/api/events", params={"type": "motion.start"}).json()["data"] == []
    too_many = admin.post("/api/events", json={"events": [good] * 1001})
    assert too_many.status_code == 422
    assert admin.post("/api/events", json={"events": []}).status_code == 422


def test_only_an_admin_posts_and_a_viewer_sees_its_sites_only(api: Api) -> None:
    admin, site, (a, _b) = setup(api)
    other = admin.post("/api/sites", json={"name": "Other"}).json()["id"]
    key = admin.post(
        "/api/keys", json={"name": "v", "scope": "viewer", "site_ids": [other]}
    ).json()["key"]
    viewer = api.client(key)
    assert viewer.post("/api/events", json={"events": [event(a)]}).status_code == 403
    admin.post("/api/events", json={"events": [event(a)]})
    assert viewer.get("/api/events").json()["data"] == []
    assert viewer.get("/api/events", params={"site_id": site}).status_code == 403


def test_events_page_by_cursor_and_filter_by_time(api: Api) -> None:
    admin, _, (a, _b) = setup(api)
    start = datetime.now(UTC) - timedelta(hours=1)
    batch = [
        event(a, "tick.n", at=(start + timedelta(minutes=n)).isoformat(), detail={"n": n})
        for n in range(30)
    ]
    assert admin.post("/api/events", json={"events": batch}).status_code == 201
    seen: list[int] = []
    after = None
    while True:
        params = {"type": "tick.n", "limit": 7, **({"after": after} if after else {})}
        page = admin.get("/api/events", params=params).json()
        seen += [e["detail"]["n"] for e in page["data"]]
        after = page["next"]
        if after is None:
            break
    assert seen == list(range(29, -1, -1))
    window = {
        "type": "tick.n",
        "from": (start + timedelta(minutes=10)).isoformat(),
        "to": (start + timedelta(minutes=13)).isoformat(),
    }
    assert [e["detail"]["n"] for e in admin.get("/api/events", params=window).json()["data"]] == [
        12, 11, 10,
    ]  # fmt: skip


def test_the_stream_sends_new_events_as_they_are_written_filtered(api: Api) -> None:
    admin, _, (a, b) = setup(api)
    received: list[dict[str, object]] = []
    ready = threading.Event()

    def listen() -> None:
        headers = {"authorization": f"Bearer {ADMIN_KEY}"}
        params = {"camera_id": a}
        with httpx.stream("GET", f"{api.url}/api/events/stream", headers=headers,
                          params=params, timeout=20) as stream:  # fmt: skip
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith(":"):
                    ready.set()
                if line.startswith("data: "):
                    received.append(json.loads(line[len("data: ") :]))
                    if len(received) == 2:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    batch = [event(a, "door.open"), event(b, "door.open"), event(a, "door.close")]
    assert admin.post("/api/events", json={"events": batch}).status_code == 201
    listener.join(15)
    assert [e["type"] for e in received] == ["door.open", "door.close"]
    assert {e["camera_id"] for e in received} == {a}
