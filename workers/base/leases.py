"""Leases in Redis: who holds a piece of work now. A lease is taken with SET NX and a time to
live, renewed by its holder (compare-and-expire) every third of that time while the work
runs, and released (compare-and-delete) when it ends; a holder that dies lets it lapse, so
the work is free again within one time to live. Used by file jobs (`jobs`) and live segment
jobs (`live_ladder`)."""

import contextlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# Compare-and-expire and compare-and-delete on a holder value (also the camera ownership's).
RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl_s: float, holder: str = "") -> None:
        self._client = client
        self.key = key
        self._ttl_ms = int(ttl_s * 1000)
        self.holder = holder or uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self._client.set(self.key, self.holder, nx=True, px=self._ttl_ms))

    def renew(self) -> bool:
        return bool(self._client.eval(RENEW_SCRIPT, 1, self.key, self.holder, self._ttl_ms))

    def release(self) -> None:
        self._client.eval(RELEASE_SCRIPT, 1, self.key, self.holder)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep an acquired lease, renewing it, until the block ends; then release it."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self._ttl_ms / 3000):
                with contextlib.suppress(redis.RedisError):  # away a moment: try next time
                    self.renew()

        renewer = threading.Thread(target=renew, name="sparc-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join(timeout=2)
            with contextlib.suppress(redis.RedisError):  # else it lapses by itself
                self.release()


def holds(client: redis.Redis, key: str) -> bool:
    return bool(client.exists(key))
