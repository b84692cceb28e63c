"""A small time-to-live cache for the lookups the playback path makes on every request."""

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, T]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[T]], *, keep_none: bool = True) -> T:
        """The cached value, or what `load()` gives (it may take a thread)."""
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = await load()
        if value is None and not keep_none:
            return value
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (now + self._ttl_s, value)
        return value

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
