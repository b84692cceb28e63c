"""A real control API over HTTP (uvicorn in a thread) on a real database, for the API, edge
and delivery tests; and the edge's collaborators built the way the CLI builds them."""

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.environment import POSTGRES_ADMIN_URL
from tests.waiting import eventually
from video_service.api.app import LiveBuilder, create_app
from video_service.api.db import engine_of
from video_service.api.edge_adapters import DatabaseDirectory, DatabaseEvents
from video_service.api.live import LiveServices, build_live_services
from video_service.api.maintenance import prepare_database
from video_service.api.settings import ApiSettings
from video_service.api.state import ApiState
from video_service.edge.settings import EdgeSettings
from workers.base.ports import free_port
from workers.base.secrets import secret_box
from workers.base.settings import shared_settings

ADMIN_KEY = "sv_test-admin-key-0123456789"


@dataclass
class Api:
    url: str
    app_state: ApiState
    settings: ApiSettings
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, key: str | None = ADMIN_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=10)
        self.clients.append(client)
        return client

    @property
    def sessions(self) -> "sessionmaker[Session]":
        sessions: sessionmaker[Session] = self.app_state.sessions
        return sessions

    def edge_settings(self, **overrides: object) -> EdgeSettings:
        """An edge's settings sharing this API's base settings (state, media, database)."""
        return EdgeSettings(**{**shared_settings(self.settings), **overrides})

    def edge_collaborators(self) -> tuple[DatabaseDirectory, DatabaseEvents]:
        """As the CLI wires them: with live services, the events sink that invalidates the
        cached event lists."""
        live = self.app_state.live
        events = live.events if live is not None else DatabaseEvents(self.sessions)
        return DatabaseDirectory(self.sessions, secret_box(self.settings)), events


def create_postgres_database() -> str:
    name = f"sparc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{url}/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run_api(
    settings: ApiSettings, live: LiveBuilder | None = None, port: int | None = None
) -> Iterator[Api]:
    prepare_database(settings)
    app = create_app(settings, live)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, 10, every=0.02, what="the API")
    running = Api(f"http://127.0.0.1:{port}", api_state_of(app), settings)
    yield running
    for client in running.clients:
        client.close()
    server.should_exit = True
    thread.join(10)
    engine_of(running.app_state.sessions).dispose()


def live_services(settings: ApiSettings, session_ttl_s: float) -> LiveBuilder:
    """The API's live services (Redis, Celery, the scheduler) from its own settings."""

    def build(sessions: "sessionmaker[Session]") -> LiveServices:
        return build_live_services(sessions, settings, session_ttl_s)

    return build


def api_state_of(app: FastAPI) -> ApiState:
    state: ApiState = app.state.api
    return state


PASSWORD = "correct horse battery"  # the users the tests make


def cli_user(api: Api, name: str, role: str, *sites: str, password: str = PASSWORD) -> str:
    """`sparc-video users create` with the password on standard input; what it printed."""
    env = {"PATH": "/usr/bin:/bin", "SPARC_STATE_DIR": str(api.settings.state_dir),
           "SPARC_DATABASE_URL": api.settings.database_url}  # fmt: skip
    command = [sys.executable, "-m", "video_service.cli", "users", "create", name, "--role", role]
    for site in sites:
        command += ["--site", site]
    done = subprocess.run([*command, "--password-stdin"], input=password + "\n", env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def api_user(api: Api, name: str, role: str, *sites: str, password: str = PASSWORD) -> str:
    """A console user made through the API with the admin key (a CLI process costs seconds);
    their id."""
    body = {"username": name, "password": password, "role": role, "site_ids": list(sites)}
    made = api.client().post("/api/users", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])
