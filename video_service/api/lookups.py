"""Short-lived, per-process caches of what the playback path looks up on every request: the
caller's key and the camera. A key deleted (or a camera disabled) takes effect on the
playback request and on opening a viewer session (POST .../viewers) within `ttl_s` (5 s by
default); every other route reads the database each time."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from video_service.api.auth import Principal, bearer_key_hash, find_principal
from video_service.api.errors import NotAuthenticated, NotFound
from video_service.api.models import Camera
from video_service.delivery.caches import TtlCache

T = TypeVar("T")


@dataclass(frozen=True)
class CameraFacts:
    id: str
    site_id: str
    tier: int
    enabled: bool


class Lookups:
    """`slots`: the app's database slots; a look-up takes one while it reads."""

    def __init__(
        self, sessions: "sessionmaker[Session]", slots: asyncio.Semaphore, ttl_s: float = 5.0
    ) -> None:
        self._sessions = sessions
        self._slots = slots
        self._principals: TtlCache[Principal | None] = TtlCache(ttl_s)
        self._cameras: TtlCache[CameraFacts | None] = TtlCache(ttl_s)

    async def principal(self, authorization: str) -> Principal:
        key_hash = bearer_key_hash(authorization)

        def load() -> Principal | None:
            with self._sessions() as session:
                return find_principal(session, key_hash)

        principal = await self._principals.get(key_hash, self._holding(load))
        if principal is None:
            raise NotAuthenticated("unknown API key")
        return principal

    async def principal_or_none(self, authorization: str) -> Principal | None:
        """The caller, or None when the key is missing or unknown."""
        try:
            return await self.principal(authorization)
        except NotAuthenticated:
            return None

    async def camera(self, camera_id: str) -> CameraFacts:
        def load() -> CameraFacts | None:
            with self._sessions() as session:
                camera = session.get(Camera, camera_id)
                if camera is None:
                    return None
                return CameraFacts(camera.id, camera.site_id, camera.site.tier, camera.enabled)

        # An unknown camera is not kept: a new one shows at once.
        facts = await self._cameras.get(camera_id, self._holding(load), keep_none=False)
        if facts is None:
            raise NotFound(f"no camera {camera_id}")
        return facts

    def _holding(self, load: Callable[[], T]) -> Callable[[], Awaitable[T]]:
        async def run() -> T:
            async with self._slots:
                return await run_in_threadpool(load)

        return run
