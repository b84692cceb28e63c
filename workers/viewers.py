"""Viewer sessions with a time to live, in Redis: a sorted set per camera, scored by expiry.

A playback request opens a session, player polls renew it; the camera's viewer count is the
number of sessions not yet expired. The clock is passed in.
"""

import uuid

import redis


def _key(camera_id: str) -> str:
    return f"sparc:viewers:{camera_id}"


def open_session(client: redis.Redis, camera_id: str, *, ttl_s: float, now: float) -> str:
    session_id = uuid.uuid4().hex
    client.zadd(_key(camera_id), {session_id: now + ttl_s})
    return session_id


def open_counted_session(
    client: redis.Redis, camera_id: str, *, ttl_s: float, now: float
) -> tuple[str, int]:
    """Open a session and count the camera's viewers, this one included, in one round trip;
    the count is 1 for the camera's first viewer."""
    session_id = uuid.uuid4().hex
    pipe = client.pipeline(transaction=True)
    pipe.zadd(_key(camera_id), {session_id: now + ttl_s})
    pipe.zcount(_key(camera_id), f"({now}", "+inf")
    _, viewers = pipe.execute()
    return session_id, int(viewers)


def renew_session(
    client: redis.Redis, camera_id: str, session_id: str, *, ttl_s: float, now: float
) -> bool:
    """False when the session is unknown or has expired: the player must open a new one."""
    expires = client.zscore(_key(camera_id), session_id)
    if expires is None or float(expires) <= now:
        return False
    client.zadd(_key(camera_id), {session_id: now + ttl_s}, xx=True)
    return True


def count_viewers(client: redis.Redis, camera_id: str, *, now: float) -> int:
    return int(client.zcount(_key(camera_id), f"({now}", "+inf"))


def expire_sessions(client: redis.Redis, camera_id: str, *, now: float) -> list[str]:
    """Remove the sessions that have lapsed and return them (each is a viewer who left)."""
    key = _key(camera_id)
    members: list[bytes] = client.zrangebyscore(key, "-inf", now)  # type: ignore[assignment]
    lapsed = [member.decode() for member in members]
    if lapsed:
        client.zrem(key, *lapsed)
    return lapsed
