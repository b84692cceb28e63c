"""Which worker pools are alive, from heartbeats the workers keep in Redis, and where work goes."""

import contextlib
import threading
from collections.abc import Callable
from enum import StrEnum

import redis

from workers.base import redis_keys


class Pool(StrEnum):
    CPU = "cpu"
    GPU = "gpu"

    @property
    def queue(self) -> str:
        return f"transcode.{self.value}"


def beat(client: redis.Redis, pool: Pool, worker: str, ttl_s: int, slots: int = 1) -> None:
    """`slots`: how many jobs the worker runs at once (its processes)."""
    client.set(redis_keys.pool_worker(pool, worker), str(slots), ex=ttl_s)


def forget(client: redis.Redis, pool: Pool, worker: str) -> None:
    client.delete(redis_keys.pool_worker(pool, worker))


def live_workers(client: redis.Redis, pool: Pool) -> list[str]:
    prefix = redis_keys.pool_worker(pool)
    return sorted(key.decode()[len(prefix) :] for key in client.scan_iter(match=prefix + "*"))


def worker_slots(client: redis.Redis, pool: Pool) -> dict[str, int]:
    """Each live worker and how many jobs it runs at once."""
    prefix = redis_keys.pool_worker(pool)
    keys = sorted(client.scan_iter(match=prefix + "*"))
    found = client.mget(keys) if keys else []
    return {
        key.decode()[len(prefix) :]: int(value) if value and value.isdigit() else 1
        for key, value in zip(keys, found, strict=True)
        if value is not None
    }


def choose_pool(client: redis.Redis) -> Pool:
    """The GPU pool when a GPU worker is alive, else the CPU pool (its queue waits for one)."""
    return Pool.GPU if live_workers(client, Pool.GPU) else Pool.CPU


def start_heartbeat(
    client: redis.Redis,
    pool: Pool,
    worker: str,
    every_s: int,
    slots: int = 1,
    also: Callable[[], object] | None = None,
) -> threading.Event:
    """Beat until the returned event is set; the key outlives three missed beats. `also`:
    what the worker does at each beat besides (it looks for jobs that lost their worker)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            # The broker connection reports an outage itself; keep beating through it.
            with contextlib.suppress(redis.RedisError):
                beat(client, pool, worker, ttl_s=every_s * 3, slots=slots)
                if also is not None:
                    also()
            stop.wait(every_s)
        with contextlib.suppress(redis.RedisError):
            forget(client, pool, worker)

    threading.Thread(target=loop, name="sparc-heartbeat", daemon=True).start()
    return stop
