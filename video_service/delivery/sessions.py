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
from video_service.shared.viewer_sessions import open_sessions


class SessionOpener:
    def __init__(self, client: redis.Redis, ttl_s: float) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._calls: GroupedCalls[str, tuple[str, int]] = GroupedCalls(self._open_all)

    async def open(self, camera_id: str) -> tuple[str, int]:
        """A new session's id and the camera's viewer count with it (1: the first)."""
        return await self._calls.call(camera_id)

    async def _open_all(self, cameras: Sequence[str]) -> list[tuple[str, int]]:
        return await run_in_threadpool(
            open_sessions, self._client, list(cameras), ttl_s=self._ttl_s, now=time.time()
        )
