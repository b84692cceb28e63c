"""The list routes at load: compression, the shared response cache and its invalidation,
keyset pages that hold while rows are inserted, and a pool that never makes a request wait
or hold two connections. Real Redis, SQLite and PostgreSQL."""

import gzip
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli
import httpx
import pytest
import redis
from sqlalchemy import event

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.environment import TEST_REDIS_URL
from video_service.api.db import engine_of
from video_service.api.deps import current_request
from video_service.api.settings import ApiSettings


@pytest.fixture
def cached_api(tmp_path: Path, database_url: str, redis_client: redis.Redis) -> Iterator[Api]:
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY,
        database_url=database_url,
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0))


def make_site(client: httpx.Client, name: str = "HQ") -> str:
    answer = client.post("/api/sites", json={"name": name})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def make_cameras(client: httpx.Client, site_id: str, count: int) -> list[str]:
    made = [client.post("/api/cameras", json={"site_id": site_id, "name": f"cam {n}"})
            for n in range(count)]  # fmt: skip
    assert all(answer.status_code == 201 for answer in made)
    return [str(answer.json()["id"]) for answer in made]


def test_a_list_is_a_miss_then_a_hit_and_a_write_shows_on_the_next_request(
    cached_api: Api,
) -> None:
    admin = cached_api.client()
    site = make_site(admin)
    make_cameras(admin, site, 2)
    first = admin.get("/api/cameras")
    second = admin.get("/api/cameras")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.json() == second.json() and second.json()["count"] == 2
    added = make_cameras(admin, site, 1)[0]
    third = admin.get("/api/cameras")
    assert third.headers["x-cache"] == "MISS", "the write invalidated it"
    assert added in [c["id"] for c in third.json()["data"]]
    assert admin.get("/api/cameras").headers["x-cache"] == "HIT"
    admin.post(f"/api/cameras/{added}/disable")
    disabled = {c["id"]: c["enabled"] for c in admin.get("/api/cameras").json()["data"]}
    assert disabled[added] is False


def test_the_cache_is_keyed_by_the_callers_scope(cached_api: Api) -> None:
    admin = cached_api.client()
    mine, theirs = make_site(admin, "Mine"), make_site(admin, "Theirs")
    make_cameras(admin, mine, 1)
    make_cameras(admin, theirs, 1)
    assert admin.get("/api/cameras").json()["count"] == 2  # the admin's answer, cached
    key = admin.post("/api/keys", json={"name": "v", "scope": "viewer", "site_ids": [mine]}).json()[
        "key"
    ]
    viewer = cached_api.client(key)
    seen = viewer.get("/api/cameras")
    assert seen.headers["x-cache"] == "MISS" and seen.json()["count"] == 1
    assert cached_api.client("sv_not-a-key").get("/api/cameras").status_code == 401
    assert cached_api.client(None).get("/api/cameras").status_code == 401


def test_answers_of_1_kb_or_more_are_compressed_as_the_client_prefers(cached_api: Api) -> None:
    admin = cached_api.client()
    site = make_site(admin)
    small = admin.get("/api/sites", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers, "under 1 KB: as it is"
    make_cameras(admin, site, 12)
    plain = admin.get("/api/cameras", headers={"accept-encoding": "identity"})
    assert len(plain.content) >= 1024 and "content-encoding" not in plain.headers
    for encoding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        headers = {"authorization": f"Bearer {ADMIN_KEY}", "accept-encoding": encoding}
        with httpx.stream("GET", f"{cached_api.url}/api/cameras", headers=headers) as raw:
            body = b"".join(raw.iter_raw())
        assert raw.headers["content-encoding"] == encoding
        assert "accept-encoding" in raw.headers["vary"].lower()
        assert len(body) < len(plain.content) and decode(body) == plain.content
    preferred = admin.get("/api/cameras", headers={"accept-encoding": "gzip;q=1.0, br;q=0.5"})
    assert preferred.headers["content-encoding"] == "gzip"
    # A route outside the cache is compressed too.
    docs = admin.get("/openapi.json", headers={"accept-encoding": "br"})
    assert docs.headers["content-encoding"] == "br" and "paths" in docs.json()


def test_keyset_pages_hold_while_rows_are_inserted(cached_api: Api) -> None:
    admin = cached_api.client()
    site = make_site(admin)
    before = make_cameras(admin, site, 25)
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 4, **({"after": after} if after else {})}
        page = admin.get("/api/cameras", params=params).json()
        seen += [c["id"] for c in page["data"]]
        make_cameras(admin, site, 1)  # inserted between the pages
        after = page["next"]
        if after is None:
            break
    assert len(seen) == len(set(seen)), "nothing twice"
    assert set(before) <= set(seen), "nothing that was there is skipped"


class CheckoutWatch:
    """How many connections one request, and all together, held at once."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}
        self.per_request = 0
        self.total = 0
        self.lock = threading.Lock()
        self.by_record: dict[int, int] = {}

    def checkout(self, _: object, record: object, __: object) -> None:
        request = current_request.get()
        with self.lock:
            holder = id(request)
            self.held[holder] = self.held.get(holder, 0) + 1
            if request is not None:
                self.per_request = max(self.per_request, self.held[holder])
            self.total = max(self.total, sum(self.held.values()))
            self.by_record[id(record)] = holder

    def checkin(self, _: object, record: object) -> None:
        with self.lock:
            holder = self.by_record.pop(id(record), None)
            if holder is not None:  # else checked out before the watch began
                self.held[holder] -= 1


@pytest.fixture
def small_pool_api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    settings = ApiSettings(
        state_dir=tmp_path, admin_key=ADMIN_KEY, database_url=database_url, api_threads=4
    )
    yield from run_api(settings)


def test_a_pool_of_n_serves_1000_concurrent_requests_never_waiting_or_holding_two(
    small_pool_api: Api,
) -> None:
    engine = engine_of(small_pool_api.sessions)
    engine.pool._timeout = 0.05  # a request that waited on the pool would fail: a 500
    watch = CheckoutWatch()
    event.listen(engine, "checkout", watch.checkout)
    event.listen(engine, "checkin", watch.checkin)
    make_site(small_pool_api.client())
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=small_pool_api.url, limits=limits, timeout=60,
                      headers=headers) as client:  # fmt: skip
        paths = (["/api/sites", "/api/cameras", "/api/events?limit=50"] * 334)[:1000]
        with ThreadPoolExecutor(max_workers=200) as pool:
            statuses = list(pool.map(lambda path: client.get(path).status_code, paths))
    assert statuses.count(200) == 1000, sorted(set(statuses))
    assert watch.per_request == 1, "a request held two connections"
    assert watch.total <= engine.pool.size()


def test_a_repeated_parameter_in_another_order_is_another_question(cached_api: Api) -> None:
    admin = cached_api.client()
    site = make_site(admin)
    camera = make_cameras(admin, site, 1)[0]
    at = "2026-11-28T10:00:00Z"
    posted = admin.post("/api/events", json={"events": [
        {"camera_id": camera, "type": "dup.one", "at": at, "detail": {}},
        {"camera_id": camera, "type": "dup.two", "at": at, "detail": {}},
    ]})  # fmt: skip
    assert posted.status_code == 201, posted.text
    for order in (("dup.two", "dup.one"), ("dup.one", "dup.two")):
        query = "&".join(f"type={kind}" for kind in order)
        for _ in range(2):  # the second from the cache
            answer = admin.get(f"/api/events?{query}&from=2026-11-01T00:00:00Z")
            kinds = {e["type"] for e in answer.json()["data"]}
            assert kinds == {order[-1]}, (order, answer.headers.get("x-cache"), kinds)
