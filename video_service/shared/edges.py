"""The live edges: each beats every `ALIVE_BEAT_S` into a sorted set (`EDGES_ALIVE`, written
by `video_service.edge.membership`) and says where it serves live view; an edge whose beat
is `ALIVE_TTL_S` old is gone. The API reads where the live edges serve live view (the
console's Content-Security-Policy lists them)."""

import redis

from workers.base import redis_keys

ALIVE_BEAT_S = 2.0
ALIVE_TTL_S = 6.0


def live_edges(client: redis.Redis, now: float) -> dict[str, str | None]:
    """The live edges, each with where it serves live view (None: it does not say)."""
    found = client.zrangebyscore(redis_keys.EDGES_ALIVE, now - ALIVE_TTL_S, "+inf")
    alive = [edge.decode() if isinstance(edge, bytes) else str(edge) for edge in found]
    if not alive:
        return {}
    urls = client.hmget(redis_keys.EDGES_LIVE_VIEW, alive)
    return {edge: _text(url) for edge, url in zip(alive, urls, strict=True)}


def live_view_urls(client: redis.Redis, now: float) -> list[str]:
    """Where the live edges serve live view (those that say)."""
    return sorted({url for url in live_edges(client, now).values() if url})


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
