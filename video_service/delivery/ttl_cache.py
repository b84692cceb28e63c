"""A small time-to-live cache for the lookups the playback path makes on every request. One
load per key at a time: requests that find the entry missing or stale while it is being
loaded wait for that load instead of each starting their own (at thousands of requests in
flight, an expiry would otherwise send thousands of identical queries at once)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, T]] = {}
        self._loading: dict[str, asyncio.Future[T]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[T]], *, keep_none: bool = True) -> T:
        """The cached value, or what `load()` gives (it may take a thread)."""
        found = self._entries.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the waiters get it, nobody else need
            raise
        finally:
            del self._loading[key]
        future.set_result(value)
        if value is not None or keep_none:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self._ttl_s, value)
        return value

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
