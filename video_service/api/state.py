"""What the API holds for its routes, built once per process (`build_api_state`) and typed:
the routes and the hot paths read it through `api_state(request)`."""

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from video_service.api.event_stream import EventStream
from video_service.api.events import EventBuffer
from video_service.api.live import LiveServices
from video_service.api.lookups import CameraSites, Lookups
from video_service.api.recording_store import DatabaseRecordings
from video_service.api.response_cache import ResponseCache
from video_service.api.settings import ApiSettings
from video_service.api.web_sessions import WebSessions
from video_service.delivery.playback import Delivery
from workers.base.notices import announce_changed
from workers.base.redis_client import connect_async

CACHE_CONNECTIONS = 32  # to Redis, per server process

Announce = Callable[[list[str]], None]


@dataclass
class ApiState:
    settings: ApiSettings
    sessions: "sessionmaker[Session]"
    live: LiveServices | None  # None: no Redis configured; viewer sessions answer 503
    # The route threads' share of the pool: a request takes a slot before a connection.
    db_slots: asyncio.Semaphore
    lookups: Lookups
    camera_sites: CameraSites
    cache: ResponseCache | None  # without Redis there is no shared cache to keep true
    invalidate: Callable[..., None]  # the cached lists of these tags are stale
    cameras_changed: Announce  # tell the edges, after the commit
    events: EventBuffer
    event_stream: EventStream
    delivery: Delivery
    export_slots: threading.BoundedSemaphore
    web_sessions: WebSessions | None  # the console's sign-ins (in Redis: None without it)


def build_api_state(
    settings: ApiSettings, sessions: "sessionmaker[Session]", live: LiveServices | None
) -> ApiState:
    db_slots = asyncio.Semaphore(settings.api_threads)
    invalidate = live.invalidator.invalidate if live is not None else _nothing
    cache = None
    if live is not None:
        cache = ResponseCache(connect_async(live.redis_url, max_connections=CACHE_CONNECTIONS))
    redis_client = live.redis if live is not None else None
    delivery = Delivery(
        settings, recordings=DatabaseRecordings(sessions), redis_client=redis_client
    )
    return ApiState(
        settings=settings,
        sessions=sessions,
        live=live,
        db_slots=db_slots,
        lookups=Lookups(sessions, db_slots),
        camera_sites=CameraSites(),
        cache=cache,
        invalidate=invalidate,
        cameras_changed=_announcer(redis_client),
        events=EventBuffer(sessions, on_written=lambda: invalidate("events")),
        event_stream=EventStream(
            sessions,
            max_streams=settings.event_streams_max,
            per_key=settings.event_streams_per_key,
        ),
        delivery=delivery,
        export_slots=threading.BoundedSemaphore(settings.exports_at_once),
        web_sessions=WebSessions(redis_client, settings.session_idle_s) if redis_client else None,
    )


def api_state(connection: HTTPConnection) -> ApiState:
    state: ApiState = connection.app.state.api
    return state


def _announcer(client: redis.Redis | None) -> Announce:
    """Tell the edges that cameras changed (a lost notice is made up for by their periodic
    look, so Redis away is not an error here)."""

    def announce(camera_ids: list[str]) -> None:
        if client is not None:
            with contextlib.suppress(redis.RedisError):
                announce_changed(client, camera_ids)

    return announce


def _nothing(*_: str) -> None:
    pass
