"""Viewer sessions opened in groups: every playback request opens one, and a Redis round trip
each, made from the event loop, kept the loop waiting on Redis; made from a thread each, it
cost a thread hop per request. Here the requests that arrive while a write is in flight
go in the next write (`batching.GroupedCalls`), one pipeline in a worker thread: a
request's answer still comes after its session exists, and the loop never blocks."""

import time
from collections.abc import Sequence

import redis
from starlette.concurrency import run_in_threadpool

from video_service.delivery.batching import GroupedCalls
from video_service.shared.viewer_sessions import Opened, open_sessions


class SessionOpener:
    def __init__(self, client: redis.Redis, ttl_s: float) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._calls: GroupedCalls[tuple[str, str], Opened] = GroupedCalls(self._open_all)

    async def open(self, camera_id: str, holder: str) -> Opened:
        """A new session of `holder` (a key) on the camera, and the camera's viewers."""
        return await self._calls.call((camera_id, holder))

    async def _open_all(self, openings: Sequence[tuple[str, str]]) -> list[Opened]:
        return await run_in_threadpool(
            open_sessions, self._client, list(openings), ttl_s=self._ttl_s, now=time.time()
        )
