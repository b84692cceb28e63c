"""Viewer sessions with a time to live, in Redis: a sorted set per camera, scored by expiry.

A playback request opens a session, player polls renew it; the camera's viewer count is the
number of sessions not yet expired. The clock is passed in.
"""

import uuid
from collections.abc import Sequence

import redis

from workers.base import redis_keys


def open_session(client: redis.Redis, camera_id: str, *, ttl_s: float, now: float) -> str:
    return open_sessions(client, [camera_id], ttl_s=ttl_s, now=now)[0][0]


def open_sessions(
    client: redis.Redis, camera_ids: Sequence[str], *, ttl_s: float, now: float
) -> list[tuple[str, int]]:
    """Open one session per entry (a camera may repeat) in one round trip; returns each
    session's id and the camera's viewer count with it, so 1 marks a camera's first viewer."""
    pipe = client.pipeline(transaction=True)
    cameras = list(dict.fromkeys(camera_ids))
    for camera_id in cameras:
        pipe.zcount(redis_keys.viewer_sessions(camera_id), f"({now}", "+inf")
    opened = [(camera_id, uuid.uuid4().hex) for camera_id in camera_ids]
    for camera_id, session_id in opened:
        pipe.zadd(redis_keys.viewer_sessions(camera_id), {session_id: now + ttl_s})
        pipe.zadd(redis_keys.ALL_VIEWER_SESSIONS, {session_id: now + ttl_s})
    counts = pipe.execute()[: len(cameras)]
    viewers = {camera_id: int(count) for camera_id, count in zip(cameras, counts, strict=True)}
    result: list[tuple[str, int]] = []
    for camera_id, session_id in opened:
        viewers[camera_id] += 1
        result.append((session_id, viewers[camera_id]))
    return result


def renew_session(
    client: redis.Redis, camera_id: str, session_id: str, *, ttl_s: float, now: float
) -> bool:
    """False when the session is unknown or has expired: the player must open a new one."""
    expires = client.zscore(redis_keys.viewer_sessions(camera_id), session_id)
    if expires is None or float(expires) <= now:
        return False
    client.zadd(redis_keys.viewer_sessions(camera_id), {session_id: now + ttl_s}, xx=True)
    client.zadd(redis_keys.ALL_VIEWER_SESSIONS, {session_id: now + ttl_s}, xx=True)
    return True


def end_session(client: redis.Redis, camera_id: str, session_id: str, *, now: float) -> bool:
    """The viewer left: the session lapses now (counted no more; the scheduler reports it
    as `viewer_left` as it does a lapsed one). False when it is unknown or lapsed already."""
    expires = client.zscore(redis_keys.viewer_sessions(camera_id), session_id)
    if expires is None or float(expires) <= now:
        return False
    pipe = client.pipeline(transaction=True)
    pipe.zadd(redis_keys.viewer_sessions(camera_id), {session_id: now}, xx=True)
    pipe.zadd(redis_keys.ALL_VIEWER_SESSIONS, {session_id: now}, xx=True)
    pipe.execute()
    return True


def count_all_sessions(client: redis.Redis, *, now: float) -> int:
    """Open sessions of every camera (the lapsed ones are dropped from the count's set)."""
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(redis_keys.ALL_VIEWER_SESSIONS, "-inf", now)
    pipe.zcard(redis_keys.ALL_VIEWER_SESSIONS)
    return int(pipe.execute()[1])


def count_viewers(client: redis.Redis, camera_id: str, *, now: float) -> int:
    return int(client.zcount(redis_keys.viewer_sessions(camera_id), f"({now}", "+inf"))


def expire_sessions(client: redis.Redis, camera_id: str, *, now: float) -> list[str]:
    """Remove the sessions that have lapsed and return them (each is a viewer who left)."""
    key = redis_keys.viewer_sessions(camera_id)
    members: list[bytes] = client.zrangebyscore(key, "-inf", now)  # type: ignore[assignment]
    lapsed = [member.decode() for member in members]
    if lapsed:
        client.zrem(key, *lapsed)
    return lapsed
