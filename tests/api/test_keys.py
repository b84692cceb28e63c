"""API keys are listed without their secret, revoked, and expire; a revoked or expired key
is refused by every API process within a second, hot paths included (two API processes on
one database, each with its own caches)."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import update

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.environment import TEST_REDIS_URL
from video_service.api.db import session_scope
from video_service.api.models import ApiKey
from video_service.api.settings import ApiSettings


@pytest.fixture
def two_nodes(tmp_path: Path, redis_client: redis.Redis) -> Iterator[tuple[Api, Api]]:
    settings = ApiSettings(redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY)
    for first in run_api(settings, live_services(settings, 30.0)):
        for second in run_api(settings, live_services(settings, 30.0)):
            yield first, second


def refused_everywhere_within(nodes: tuple[Api, Api], key: str, seconds: float) -> float:
    """How long after the change the last request still accepted was sent, asking both nodes
    on a cached hot path until both answer 401. A request counts from when it was sent: on
    a loaded machine its answer may come later, but it was checked no earlier."""
    clients = [node.client(key) for node in nodes]
    started = time.monotonic()
    last_accepted = 0.0
    while True:
        asked = time.monotonic() - started
        answers = [client.get("/api/cameras").status_code for client in clients]
        if all(status == 401 for status in answers):
            return last_accepted
        assert asked < seconds, f"still accepted {asked:.2f} s after the change"
        last_accepted = asked
        time.sleep(0.05)


def test_a_revoked_key_is_refused_on_every_node_within_a_second(
    two_nodes: tuple[Api, Api],
) -> None:
    first, second = two_nodes
    admin = first.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    created = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                            "site_ids": [site]}).json()  # fmt: skip
    for node in two_nodes:  # both have it cached, and the list answer too
        for _ in range(3):
            assert node.client(created["key"]).get("/api/cameras").status_code == 200
    listed = admin.get("/api/keys").json()["data"]
    assert {k["id"] for k in listed} >= {created["id"]}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert second.client().delete(f"/api/keys/{created['id']}").status_code == 204
    assert refused_everywhere_within(two_nodes, created["key"], 1.0) < 1.0
    assert admin.delete(f"/api/keys/{created['id']}").status_code == 404
    assert first.client(created["key"]).get("/api/keys").status_code == 401


def test_an_expired_key_is_refused_within_a_second(two_nodes: tuple[Api, Api]) -> None:
    first, _ = two_nodes
    admin = first.client()
    created = admin.post("/api/keys", json={"name": "temp", "scope": "admin",
                                            "expires_in_days": 1}).json()  # fmt: skip
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)
    for node in two_nodes:
        assert node.client(created["key"]).get("/api/cameras").status_code == 200
    with session_scope(first.sessions) as session:  # a day later
        session.execute(update(ApiKey).where(ApiKey.id == created["id"])
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    assert refused_everywhere_within(two_nodes, created["key"], 1.0) < 1.0
    viewer = admin.post("/api/keys", json={"name": "v", "scope": "viewer", "site_ids": []})
    assert viewer.status_code == 422
    assert admin.post("/api/keys", json={"name": "x", "scope": "admin",
                                         "expires_in_days": 0}).status_code == 422  # fmt: skip


def test_a_revoked_admin_key_stays_revoked_when_the_api_starts_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY)
    for api in run_api(settings):
        admin = api.client()
        mine = [k for k in admin.get("/api/keys").json()["data"] if k["name"] == "SPARC_ADMIN_KEY"]
        # An operator rotates it: a new admin key first, then the old one revoked.
        fresh = admin.post("/api/keys", json={"name": "ops", "scope": "admin"}).json()["key"]
        assert api.client(fresh).delete(f"/api/keys/{mine[0]['id']}").status_code == 204
        assert admin.get("/api/keys").status_code == 401
    for api in run_api(settings):  # started again with the same SPARC_ADMIN_KEY set
        assert api.client().get("/api/keys").status_code == 401, "the revoked key is back"
        listed = api.client(fresh).get("/api/keys").json()["data"]
        assert [k["name"] for k in listed] == ["ops"]
    assert "SPARC_ADMIN_KEY was revoked" in caplog.text
