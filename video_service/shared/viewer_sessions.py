"""Viewer sessions with a time to live, in Redis. A playback request opens a session, player
polls renew it; the clock is passed in.

Sessions are held by who opened them (the key's id: its first 16 characters, which begin the
session's id), and a camera's viewers are counted by holder: a key watching a camera counts
once in its score however many sessions it opens, and holds at most `per_holder` of them (a
new one past that ends its oldest), so no key can raise a camera's score, or the sessions
kept, by asking again and again. Three sorted sets per camera, scored by expiry: its
sessions (`viewer_sessions`), its holders (`viewer_holders`, each at its latest session's
expiry: the count), and each holder's sessions (`holder_sessions`); and every camera's
sessions, counted for the metrics (`ALL_VIEWER_SESSIONS`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from workers.base import redis_keys

HOLDER_LENGTH = 16
PER_HOLDER = 4

# KEYS: the camera's sessions, its holders, the holder's sessions, all sessions.
# ARGV: session, holder, now, expiry, per_holder, key ttl. Returns {viewers before, whether
# the holder was watching already}.
_OPEN = """
local now, expiry, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('zremrangebyscore', KEYS[3], '-inf', now)
while redis.call('zcard', KEYS[3]) >= cap do
  local oldest = redis.call('zpopmin', KEYS[3])
  redis.call('zadd', KEYS[1], 'XX', now, oldest[1])
  redis.call('zadd', KEYS[4], 'XX', now, oldest[1])
end
local before = redis.call('zcount', KEYS[2], '(' .. now, '+inf')
local held = redis.call('zscore', KEYS[2], ARGV[2])
local watching = held and tonumber(held) > now and 1 or 0
redis.call('zadd', KEYS[3], expiry, ARGV[1])
redis.call('expire', KEYS[3], ARGV[6])
redis.call('zadd', KEYS[1], expiry, ARGV[1])
redis.call('zadd', KEYS[4], expiry, ARGV[1])
redis.call('zadd', KEYS[2], 'GT', expiry, ARGV[2])
return {before, watching}
"""
# KEYS as _OPEN's; ARGV: session, holder, now, expiry (now: the session ends). 0 when the
# session is unknown or lapsed.
_RENEW = """
local now = tonumber(ARGV[3])
local expires = redis.call('zscore', KEYS[1], ARGV[1])
if not expires or tonumber(expires) <= now then return 0 end
redis.call('zadd', KEYS[1], 'XX', ARGV[4], ARGV[1])
redis.call('zadd', KEYS[4], 'XX', ARGV[4], ARGV[1])
redis.call('zadd', KEYS[3], 'XX', ARGV[4], ARGV[1])
local latest = redis.call('zrange', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('zadd', KEYS[2], latest[2] or ARGV[4], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Opened:
    session_id: str
    viewers: int  # the camera's viewers (holders) with it: 1 marks the first
    new_viewer: bool  # its holder was not watching the camera


def holder_of(key_id: str) -> str:
    return key_id[:HOLDER_LENGTH]


def open_sessions(
    client: redis.Redis,
    openings: Sequence[tuple[str, str]],
    *,
    ttl_s: float,
    now: float,
    per_holder: int = PER_HOLDER,
) -> list[Opened]:
    """Open one session per (camera, holder) in one round trip (a camera may repeat)."""
    pipe = client.pipeline(transaction=True)
    ids = [holder + uuid.uuid4().hex[: 32 - len(holder)] for _, holder in openings]
    for (camera_id, holder), session_id in zip(openings, ids, strict=True):
        pipe.eval(_OPEN, 4, *_keys(camera_id, holder), session_id, holder, now, now + ttl_s,
                  per_holder, int(ttl_s) + 60)  # fmt: skip
    answers = pipe.execute()
    counted: dict[str, int] = {}
    opened = []
    for (camera_id, _), session_id, (before, watching) in zip(openings, ids, answers, strict=True):
        counted[camera_id] = counted.get(camera_id, int(before)) + (0 if watching else 1)
        opened.append(Opened(session_id, counted[camera_id], not watching))
    return opened


def renew_session(
    client: redis.Redis, camera_id: str, session_id: str, *, ttl_s: float, now: float
) -> bool:
    """False when the session is unknown or has expired (or was ended, or its holder opened
    too many since): the player must open a new one."""
    return _set_expiry(client, camera_id, session_id, now=now, expiry=now + ttl_s)


def end_session(client: redis.Redis, camera_id: str, session_id: str, *, now: float) -> bool:
    """The viewer left: the session lapses now (its holder counted no more unless it holds
    another; the scheduler reports a holder gone as `viewer_left`). False when it is unknown
    or lapsed already."""
    return _set_expiry(client, camera_id, session_id, now=now, expiry=now)


def count_all_sessions(client: redis.Redis, *, now: float) -> int:
    """Open sessions of every camera (the lapsed ones are dropped from the count's set)."""
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(redis_keys.ALL_VIEWER_SESSIONS, "-inf", now)
    pipe.zcard(redis_keys.ALL_VIEWER_SESSIONS)
    return int(pipe.execute()[1])


def count_viewers(client: redis.Redis, camera_id: str, *, now: float) -> int:
    """Who watches the camera now: each holder once."""
    return int(client.zcount(redis_keys.viewer_holders(camera_id), f"({now}", "+inf"))


def expire_sessions(client: redis.Redis, camera_id: str, *, now: float) -> list[str]:
    """Remove what has lapsed; the holders that stopped watching (each a viewer who left)."""
    holders = redis_keys.viewer_holders(camera_id)
    pipe = client.pipeline(transaction=True)
    pipe.zrangebyscore(holders, "-inf", now)
    pipe.zremrangebyscore(holders, "-inf", now)
    pipe.zremrangebyscore(redis_keys.viewer_sessions(camera_id), "-inf", now)
    left: list[bytes] = pipe.execute()[0]
    return [member.decode() for member in left]


def _set_expiry(
    client: redis.Redis, camera_id: str, session_id: str, *, now: float, expiry: float
) -> bool:
    holder = session_id[:HOLDER_LENGTH]
    keys = _keys(camera_id, holder)
    return bool(client.eval(_RENEW, 4, *keys, session_id, holder, now, expiry))


def _keys(camera_id: str, holder: str) -> tuple[str, str, str, str]:
    return (
        redis_keys.viewer_sessions(camera_id),
        redis_keys.viewer_holders(camera_id),
        redis_keys.holder_sessions(camera_id, holder),
        redis_keys.ALL_VIEWER_SESSIONS,
    )
