"""A real control API over HTTP (uvicorn in a thread) on a real database, for the API and
edge tests."""

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from video_service.app import LiveBuilder, create_app
from video_service.db import engine_of
from video_service.settings import ApiSettings
from workers.ports import free_port

ADMIN_KEY = "sv_test-admin-key-0123456789"


@dataclass
class Api:
    url: str
    app_state: object
    settings: ApiSettings
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, key: str | None = ADMIN_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=10)
        self.clients.append(client)
        return client


POSTGRES_ADMIN_URL = os.environ.get(
    "SPARC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite (the embedded default) and the machine's real PostgreSQL, a new database each."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    name = f"sparc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{url}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    yield from run_api(
        ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY, database_url=database_url)
    )


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    yield from run_api(ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY))


def run_api(
    settings: ApiSettings, live: LiveBuilder | None = None, port: int | None = None
) -> Iterator[Api]:
    app = create_app(settings, live)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    running = Api(f"http://127.0.0.1:{port}", app.state, settings)
    yield running
    for client in running.clients:
        client.close()
    server.should_exit = True
    thread.join(10)
    engine_of(app.state.sessions).dispose()
