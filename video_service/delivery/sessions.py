"""Viewer sessions opened in groups: every playback request opens one, and a Redis round trip
each, made from the event loop, kept the loop waiting on Redis; made from a thread each, it
cost a thread hop per request. Here the requests that arrive while a write is in flight
wait together and go in the next write, one pipeline in a worker thread (group commit):
a request's answer still comes after its session exists, and the loop never blocks."""

import asyncio
import time

import redis
from starlette.concurrency import run_in_threadpool

from workers.viewers import open_sessions


class SessionOpener:
    def __init__(self, client: redis.Redis, ttl_s: float) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._pending: list[tuple[str, asyncio.Future[tuple[str, int]]]] = []
        self._writing = False

    async def open(self, camera_id: str) -> tuple[str, int]:
        """A new session's id and the camera's viewer count with it (1: the first)."""
        future: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        self._pending.append((camera_id, future))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                cameras = [camera_id for camera_id, _ in batch]
                try:
                    opened = await run_in_threadpool(
                        open_sessions, self._client, cameras, ttl_s=self._ttl_s, now=time.time()
                    )
                except Exception as error:  # Redis down: every request of the batch says so
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, opened, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writing = False
