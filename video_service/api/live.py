"""What the control plane needs of the live pipeline, built once from the shared settings:
Redis (viewer sessions, lag, the response cache and its invalidation), the Celery app (to
queue ladder work), the scheduler, and the events sink that every writer of events in this
process uses (each write invalidates the cached event lists)."""

from dataclasses import dataclass, field

import redis
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.edge_adapters import DatabaseEvents
from video_service.api.response_cache import Invalidator
from video_service.delivery.sessions import SessionOpener
from video_service.edge.scheduler import LadderScheduler
from workers.base.layout import MediaLayout
from workers.base.redis_client import connect
from workers.base.redis_server import resolve_redis_url
from workers.base.settings import Settings
from workers.engine.live_ladder import deadline_s
from workers.queue.celery_app import create_celery_app

VIEWER_SESSION_TTL_S = 30.0


@dataclass(frozen=True)
class LiveServices:
    redis_url: str
    redis: redis.Redis
    invalidator: Invalidator
    events: DatabaseEvents
    scheduler: LadderScheduler
    session_ttl_s: float = VIEWER_SESSION_TTL_S
    opener: SessionOpener = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opener", SessionOpener(self.redis, self.session_ttl_s))


def build_live_services(
    sessions: "sessionmaker[Session]",
    settings: Settings,
    session_ttl_s: float = VIEWER_SESSION_TTL_S,
) -> LiveServices:
    redis_url = resolve_redis_url(settings)
    client = connect(redis_url)
    invalidator = Invalidator(client)
    events = DatabaseEvents(sessions, on_written=lambda: invalidator.invalidate("events"))
    app = create_celery_app(settings, redis_url)
    scheduler = LadderScheduler(
        client, app, events, MediaLayout(settings.media_root), deadline_s=deadline_s(settings)
    )
    return LiveServices(redis_url, client, invalidator, events, scheduler, session_ttl_s)
