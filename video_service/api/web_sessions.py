"""The console's sign-in sessions, kept in Redis so that every API node knows them: the
cookie holds a random token, Redis holds its hash (who, since when) for `idle_s` after the
last request; signing out, or the user's being disabled or deleted, ends it at once.

Failed sign-ins are counted per user name and per address in a window: past the limit,
sign-in is refused (429, `Retry-After`) before any password is checked."""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import redis

from workers.base import redis_keys

COOKIE = "sparc_session"
FAILURE_WINDOW_S = 15 * 60
FAILURES_PER_USER = 5
FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class WebSession:
    user_id: str
    started_at: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    def __init__(self, client: redis.Redis, idle_s: float) -> None:
        self._redis = client
        self._idle_ms = int(idle_s * 1000)

    def start(self, user_id: str) -> str:
        """A new session for the user: the token for its cookie."""
        token = secrets.token_urlsafe(32)
        hashed = token_hash(token)
        record = json.dumps({"user_id": user_id, "started_at": time.time()})
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
            return WebSession(str(found["user_id"]), float(found["started_at"]))
        except (ValueError, KeyError, TypeError):
            return None

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

    def refused_for_s(self, username: str, address: str) -> int:
        """How long sign-in stays refused for this name or address (0: not refused)."""
        keys = [redis_keys.sign_in_failures("user", username.lower()),
                redis_keys.sign_in_failures("address", address)]  # fmt: skip
        limits = (FAILURES_PER_USER, FAILURES_PER_ADDRESS)
        with self._redis.pipeline() as pipe:
            for key in keys:
                pipe.get(key)
                pipe.ttl(key)
            counts = pipe.execute()
        waits = [0]
        for index, limit in enumerate(limits):
            count, ttl = counts[2 * index], counts[2 * index + 1]
            if count is not None and int(count) >= limit:
                waits.append(max(1, int(ttl)))
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        with self._redis.pipeline() as pipe:
            for key in (redis_keys.sign_in_failures("user", username.lower()),
                        redis_keys.sign_in_failures("address", address)):  # fmt: skip
                pipe.incr(key)
                pipe.expire(key, FAILURE_WINDOW_S, nx=True)
            pipe.execute()

    def succeeded(self, username: str) -> None:
        self._redis.delete(redis_keys.sign_in_failures("user", username.lower()))
