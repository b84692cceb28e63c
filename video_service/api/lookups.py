"""Short-lived, per-process caches of what the hot paths look up on every request: the
caller's key and the camera. A key revoked or expired, or a camera disabled, takes effect
on every API process within `ttl_s` (half a second, so within a second whatever the load):
the cache only spares the database the same question asked thousands of times a second.
The other routes read the database each time."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from video_service.api.auth import Principal, bearer_key_hash, find_principal
from video_service.api.errors import NotAuthenticated, NotFound
from video_service.api.models import Camera
from video_service.shared.ttl_cache import Expiring, TtlCache

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
        self, sessions: "sessionmaker[Session]", slots: asyncio.Semaphore, ttl_s: float = 0.5
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


class CameraSites:
    """Which site each camera is on, remembered `ttl_s` per process: a batch of events from
    outside names up to 1,000 cameras, and asking for all of them every batch cost as much as
    storing the batch. (A camera deleted may still be named for that long.)"""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self._known: Expiring[str] = Expiring(ttl_s)

    def sites(self, session: Session, camera_ids: set[str]) -> dict[str, str]:
        found = self._known.get_many(camera_ids)
        missing = camera_ids - found.keys()
        if missing:
            query = select(Camera.id, Camera.site_id).where(Camera.id.in_(missing))
            fresh = {camera_id: site_id for camera_id, site_id in session.execute(query)}
            self._known.put_many(fresh)
            found |= fresh
        return found
