"""What the control plane needs of the live pipeline: Redis (viewer sessions, lag), the
Celery app (to queue ladder work) and the scheduler, built once from the workers' settings."""

from dataclasses import dataclass, field

import redis
from sqlalchemy.orm import Session, sessionmaker

from video_service.scheduler import LadderScheduler
from video_service.session_opener import SessionOpener
from workers.celery_app import create_celery_app
from workers.redis_server import resolve_redis_url
from workers.settings import WorkerSettings

VIEWER_SESSION_TTL_S = 30.0


@dataclass(frozen=True)
class LiveServices:
    redis: redis.Redis
    scheduler: LadderScheduler
    session_ttl_s: float = VIEWER_SESSION_TTL_S
    opener: SessionOpener = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opener", SessionOpener(self.redis, self.session_ttl_s))


def build_live_services(
    sessions: "sessionmaker[Session]",
    worker_settings: WorkerSettings | None = None,
    session_ttl_s: float = VIEWER_SESSION_TTL_S,
) -> LiveServices:
    settings = worker_settings or WorkerSettings()
    redis_url = resolve_redis_url(settings)
    client = redis.Redis.from_url(redis_url)
    app = create_celery_app(settings, redis_url)
    return LiveServices(client, LadderScheduler(client, app, sessions), session_ttl_s)
