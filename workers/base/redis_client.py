"""Redis clients, made here and nowhere else: every process gets the same timeouts and
health checks, so that a Redis that stops answering is noticed in seconds rather than at
the kernel's TCP timeout, and a connection left idle behind a proxy is checked before use."""

import redis
import redis.asyncio as aioredis

CONNECT_TIMEOUT_S = 5.0
# Longer than any blocking read of ours (the scheduler's XREAD and the notices' listener
# wait 0.5 s at a time), short enough that a Redis gone silent fails a request, not a thread.
SOCKET_TIMEOUT_S = 10.0
HEALTH_CHECK_S = 30
POOL_WAIT_S = 5.0


def connect(url: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> redis.Redis:
    """A client of `url` (connections are made as they are needed, not now)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
    )


def connect_async(url: str, *, max_connections: int) -> aioredis.Redis:
    """An asyncio client with a bounded pool: at thousands of requests in flight, callers
    wait a moment for one of `max_connections` rather than opening thousands (Redis refuses
    past its maxclients). Closing the client closes its pool."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
    )
    return aioredis.Redis.from_pool(pool)
