"""Still pictures: the latest picture of each camera someone asked about in the last minute.

The API notes each ask (`note_asked`: a sorted set of cameras by when they were last asked
about); each edge makes the pictures of the asked-about cameras publishing to it
(`video_service.edge.stills`) and keeps each as a JPEG with its time (`write_still`), which
the API serves (`read_still`). A picture outlives its camera going offline by `KEPT_S`.
"""

import time

import redis

from workers.base import redis_keys

ASKED_WITHIN_S = 60.0  # a camera asked about longer ago than this gets no new pictures
KEPT_S = 7 * 24 * 3600.0  # the last picture of a camera no longer asked about


def note_asked(client: redis.Redis, camera_id: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    pipe.zadd(redis_keys.STILLS_ASKED, {camera_id: now})
    pipe.zremrangebyscore(redis_keys.STILLS_ASKED, "-inf", now - ASKED_WITHIN_S)
    pipe.execute()


def asked_cameras(client: redis.Redis, now: float | None = None) -> list[str]:
    """The cameras asked about in the last `ASKED_WITHIN_S`."""
    since = (time.time() if now is None else now) - ASKED_WITHIN_S
    found = client.zrangebyscore(redis_keys.STILLS_ASKED, since, "+inf")
    return [c.decode() if isinstance(c, bytes) else str(c) for c in found]


def write_still(client: redis.Redis, camera_id: str, jpeg: bytes, taken_at: float) -> None:
    key = redis_keys.camera_still(camera_id)
    pipe = client.pipeline()
    pipe.hset(key, mapping={"jpeg": jpeg, "at": repr(taken_at)})
    pipe.pexpire(key, int(KEPT_S * 1000))
    pipe.execute()


def read_still(client: redis.Redis, camera_id: str) -> tuple[bytes, float] | None:
    """The camera's latest picture (a JPEG) and when it was taken; None if it has none."""
    found = client.hmget(redis_keys.camera_still(camera_id), ["jpeg", "at"])
    jpeg, at = found[0], found[1]
    if not isinstance(jpeg, bytes) or not jpeg or at is None:
        return None  # (a client decoding responses would give text: not ours)
    try:
        return jpeg, float(at)
    except ValueError:
        return None
