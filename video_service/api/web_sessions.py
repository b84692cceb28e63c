"""The console's sign-in sessions, kept in Redis so that every API node knows them: the
cookie holds a random token, Redis holds its hash (who, since when) for `idle_s` after the
last request; signing out, or the user's being disabled or deleted, ends it at once.

Sign-in attempts are counted before the password is checked (so that attempts at once
cannot pass the count together) and given back when the password was right: per name and
address (5 failures in 15 minutes), per address (50) and per name from anywhere (100), so
that a stranger cannot lock a user out with a few wrong passwords of their own. Past a
limit, sign-in is refused (429, `Retry-After`)."""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import redis

from workers.base import redis_keys

COOKIE = "sparc_session"
FAILURE_WINDOW_S = 15 * 60
FAILURES_PER_USER = 5  # from one address
FAILURES_PER_ADDRESS = 50
FAILURES_PER_NAME = 100  # from every address


@dataclass(frozen=True)
class WebSession:
    user_id: str
    started_at: float
    epoch: int  # the user's session epoch when they signed in


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    def __init__(self, client: redis.Redis, idle_s: float) -> None:
        self._redis = client
        self._idle_ms = int(idle_s * 1000)

    def start(self, user_id: str, epoch: int) -> str:
        """A new session for the user: the token for its cookie."""
        token = secrets.token_urlsafe(32)
        hashed = token_hash(token)
        record = json.dumps({"user_id": user_id, "started_at": time.time(), "epoch": epoch})
        with self._redis.pipeline() as pipe:
            pipe.set(redis_keys.web_session(hashed), record, px=self._idle_ms)
            pipe.sadd(redis_keys.user_web_sessions(user_id), hashed)
            pipe.pexpire(redis_keys.user_web_sessions(user_id), self._idle_ms * 4)
            pipe.execute()
        return token

    def find(self, token: str) -> WebSession | None:
        """The session the token names, its idle time starting again; None when there is
        none (signed out, idle too long, ended)."""
        if not token or len(token) > 128:
            return None
        raw = self._redis.getex(redis_keys.web_session(token_hash(token)), px=self._idle_ms)
        if raw is None:
            return None
        try:
            found = json.loads(raw)
            session = WebSession(str(found["user_id"]), float(found["started_at"]),
                                 int(found["epoch"]))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None
        # The user's list of sessions lives as long as their newest (for `end_all`).
        self._redis.pexpire(redis_keys.user_web_sessions(session.user_id), self._idle_ms * 4)
        return session

    def exists(self, session_hash: str) -> bool:
        return bool(self._redis.exists(redis_keys.web_session(session_hash)))

    def end(self, token: str) -> None:
        hashed = token_hash(token)
        found = self.find(token)
        self._redis.delete(redis_keys.web_session(hashed))
        if found is not None:
            self._redis.srem(redis_keys.user_web_sessions(found.user_id), hashed)

    def end_all(self, user_id: str) -> None:
        """Every session of the user ends now (disabled, deleted, a new password)."""
        key = redis_keys.user_web_sessions(user_id)
        hashes = [h.decode() if isinstance(h, bytes) else str(h) for h in self._redis.smembers(key)]
        self._redis.delete(key, *(redis_keys.web_session(h) for h in hashes))

    def attempt(self, username: str, address: str) -> int:
        """Count a sign-in attempt before its password is checked: 0, go on (and call
        `succeeded` if the password was right); else how many seconds until another is
        taken (nothing counted)."""
        buckets = _buckets(username, address)
        keys = [key for key, _ in buckets]
        found = self._redis.eval(_COUNT, len(keys), *keys, FAILURE_WINDOW_S)
        counts, ttls = found[0::2], found[1::2]
        waits = [max(1, int(ttl)) for (_, limit), count, ttl in zip(buckets, counts, ttls,
                                                                      strict=True)
                 if int(count) > limit]  # fmt: skip
        if waits:
            self._give_back(buckets)
            return max(waits)
        return 0

    def not_tried(self, username: str, address: str) -> None:
        """The attempt counted was not made (no password was checked): given back."""
        self._give_back(_buckets(username, address))

    def _give_back(self, buckets: list[tuple[str, int]]) -> None:
        with self._redis.pipeline() as pipe:
            for key, _ in buckets:
                pipe.decr(key)
            pipe.execute()

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: the attempt is given back, and the name's failures from
        this address forgotten."""
        buckets = _buckets(username, address)
        self._give_back(buckets[1:])
        self._redis.delete(buckets[0][0])


# Each counter one more, its window starting with its first count (in one step: a counter is
# never left without its window); each count and the seconds left of its window. (Redis 6
# has no EXPIRE ... NX, and the embedded Redis is 6.2.)
_COUNT = """
local found = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('incr', key)
  if count == 1 or redis.call('ttl', key) < 0 then
    redis.call('expire', key, ARGV[1])
  end
  table.insert(found, count)
  table.insert(found, redis.call('ttl', key))
end
return found
"""


def _buckets(username: str, address: str) -> list[tuple[str, int]]:
    """The counters an attempt counts in, each with its limit (the name and address first)."""
    name = username.lower()
    return [(redis_keys.sign_in_failures("user", f"{name}@{address}"), FAILURES_PER_USER),
            (redis_keys.sign_in_failures("address", address), FAILURES_PER_ADDRESS),
            (redis_keys.sign_in_failures("name", name), FAILURES_PER_NAME)]  # fmt: skip
