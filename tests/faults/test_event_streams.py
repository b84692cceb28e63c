"""Event streams (server-sent events) against hostile or careless clients: a stream ends
within seconds of its key being revoked, expiring or losing its site; one key holds a few
streams at most (429) and a process some thousands (503); an idle stream hears a keep-alive
every few seconds."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.api_harness import ADMIN_KEY, Api, run_api
from tests.waiting import eventually
from video_service.api.db import session_scope
from video_service.api.models import ApiKey
from video_service.api.settings import ApiSettings
from workers.base.ports import free_port


@pytest.fixture
def small_api(tmp_path: Path) -> Iterator[Api]:
    """An API that keeps at most 3 streams open, 2 per key."""
    settings = ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY, event_streams_max=3,
                           event_streams_per_key=2)  # fmt: skip
    yield from run_api(settings, port=free_port())


class Stream:
    """An SSE client in a thread: whether it is open, and the events it got."""

    def __init__(self, api: Api, key: str, **params: str) -> None:
        self.status = 0
        self.events: list[str] = []
        self.open = threading.Event()
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"})
        self._thread = threading.Thread(target=self._run, args=(api.url, params), daemon=True)
        self._thread.start()

    def _run(self, url: str, params: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", f"{url}/api/events/stream", params=params) as got:
                self.status = got.status_code
                for line in got.iter_lines():  # a keep-alive comes every few seconds
                    self.open.set()
                    if self._stop.is_set():
                        return
                    if line.startswith("data: "):
                        self.events.append(line)
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()
            self.open.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.close()


def _viewer_key(admin: httpx.Client, site: str, **extra: object) -> dict[str, str]:
    body = {"name": "v", "scope": "viewer", "site_ids": [site], **extra}
    made: dict[str, str] = admin.post("/api/keys", json=body).json()
    return made


def test_a_stream_ends_within_seconds_of_its_key_being_revoked_or_its_site_deleted(
    sqlite_api: Api,
) -> None:
    admin = sqlite_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    other = admin.post("/api/sites", json={"name": "Annex"}).json()["id"]
    revoked, losing = _viewer_key(admin, site), _viewer_key(admin, other)
    streams = [Stream(sqlite_api, revoked["key"]), Stream(sqlite_api, losing["key"])]
    try:
        assert all(s.open.wait(10) and s.status == 200 for s in streams)
        started = time.monotonic()
        assert admin.delete(f"/api/keys/{revoked['id']}").status_code == 204
        assert admin.delete(f"/api/sites/{other}").status_code == 204
        assert sqlite_api.client(revoked["key"]).get("/api/events").status_code == 401
        eventually(lambda: all(s.ended.is_set() for s in streams), 10, what="both streams' end")
        print(f"streams ended {time.monotonic() - started:.1f} s after the revocation")
    finally:
        for stream in streams:
            stream.close()


def test_an_expired_key_s_stream_ends(sqlite_api: Api) -> None:
    admin = sqlite_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    made = _viewer_key(admin, site, expires_in_days=1)
    stream = Stream(sqlite_api, made["key"])
    try:
        assert stream.open.wait(10) and stream.status == 200
        with session_scope(sqlite_api.sessions) as session:  # a day later
            key = session.get(ApiKey, made["id"])
            assert key is not None and key.expires_at is not None
            key.expires_at = key.created_at
        eventually(stream.ended.is_set, 10, what="the stream's end")
    finally:
        stream.close()


def test_a_key_holds_two_streams_and_a_process_three(small_api: Api) -> None:
    admin = small_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    key = _viewer_key(admin, site)["key"]
    streams = [Stream(small_api, key), Stream(small_api, key)]
    try:
        assert all(s.open.wait(10) and s.status == 200 for s in streams)
        third = small_api.client(key).get("/api/events/stream")
        assert third.status_code == 429 and "at most 2" in third.text, third.text
        streams.append(Stream(small_api, ADMIN_KEY))
        assert streams[-1].open.wait(10) and streams[-1].status == 200
        full = small_api.client(ADMIN_KEY).get("/api/events/stream")
        assert full.status_code == 503, full.text
    finally:
        for stream in streams:
            stream.close()
    # Closed streams give their places back.
    eventually(lambda: small_api.app_state.event_stream.listening == 0, 10)
    again = Stream(small_api, key)
    try:
        assert again.open.wait(10) and again.status == 200
    finally:
        again.close()


def test_a_sites_stream_gets_its_sites_events_and_none_of_anothers(sqlite_api: Api) -> None:
    admin = sqlite_api.client()
    mine = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    theirs = admin.post("/api/sites", json={"name": "Annex"}).json()["id"]
    cameras = {site: admin.post("/api/cameras", json={"site_id": site, "name": "c"}).json()["id"]
               for site in (mine, theirs)}  # fmt: skip
    stream = Stream(sqlite_api, _viewer_key(admin, mine)["key"])
    try:
        assert stream.open.wait(10) and stream.status == 200
        at = datetime.now(UTC).isoformat()
        batch = [{"camera_id": cameras[site], "type": f"door.n{n}", "at": at, "detail": {}}
                 for n, site in enumerate((theirs, mine, theirs, mine))]  # fmt: skip
        assert admin.post("/api/events", json={"events": batch}).status_code == 201
        eventually(lambda: len(stream.events) == 2, 10, what="the site's two events")
        assert all(cameras[mine] in line for line in stream.events)
        kinds = [line.split('"type":"')[1].split('"')[0] for line in stream.events]
        assert kinds == ["door.n1", "door.n3"]
    finally:
        stream.close()
