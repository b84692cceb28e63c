"""Time-to-live caches, the one kind we keep per process.

`Expiring` holds values for `ttl_s` each, bounded (emptied whole when full: the entries are
cheap to load again), and is safe to use from threads. `TtlCache` loads through it on the
event loop, one load per key at a time: requests that find the entry missing or stale while
it is being loaded wait for that load instead of each starting their own (at thousands of
requests in flight, an expiry would otherwise send thousands of identical queries at once).
"""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Expiring(Generic[T]):
    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, T]:
        """The entries of `keys` still fresh."""
        now = self._clock()
        with self._lock:
            return {k: hit[1] for k in keys if (hit := self._entries.get(k)) and hit[0] > now}

    def put_many(self, values: dict[str, T]) -> None:
        until = self._clock() + self._ttl_s
        with self._lock:
            if len(self._entries) + len(values) > self._max:
                self._entries.clear()
            for key, value in values.items():
                self._entries[key] = (until, value)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class TtlCache(Generic[T]):
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._entries: Expiring[T] = Expiring(ttl_s, max_entries)
        self._loading: dict[str, asyncio.Future[T]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[T]], *, keep_none: bool = True) -> T:
        """The cached value, or what `load()` gives (it may take a thread)."""
        found = self._entries.get_many((key,))
        if key in found:
            return found[key]
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
            self._entries.put_many({key: value})
        return value

    def forget(self, key: str) -> None:
        self._entries.forget(key)
