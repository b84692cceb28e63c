"""Which edge owns a camera: a lease in Redis with a fencing token.

The edge that accepts a camera's publisher takes the camera: the camera's fence counter is
incremented (the new token, larger than every earlier one) and the owner key set to the token,
the edge's name and where viewers reach its live view, with a time to live. The owner renews
it every third of that time while the publisher stays (compare-and-expire on the whole value);
a second publisher on another edge takes the camera over (a new, larger token), and the first
edge's next renewal fails: it cuts its publisher off, so that one edge records the camera. An
edge that dies stops renewing, and its cameras are free within one time to live. Readers (the
API handing out a live-view URL) ask who owns a camera now.

Each take is also published (`redis_keys.CAMERA_TAKEN`, "CAMERA TOKEN EDGE [WHEP_URL]"): the
edge that had the camera hears it at once (`parse_taken`) and cuts its publisher off within
milliseconds, not at its next renewal; the renewal stays, for a message missed while Redis
was away.

Pull cameras are spread over the live edges by the edges themselves
(`video_service.edge.membership`); a pull also takes the camera's lease.

Keys: `redis_keys.camera_owner` ("TOKEN EDGE [WHEP_URL]"), `redis_keys.camera_fence`.
"""

from dataclasses import dataclass

import redis

from workers.base import redis_keys
from workers.base.leases import RELEASE_SCRIPT, RENEW_SCRIPT

OWNER_TTL_S = 15.0

_TAKE = """
local token = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], token .. ' ' .. ARGV[1], 'px', ARGV[2])
redis.call('publish', ARGV[3], ARGV[4] .. ' ' .. token .. ' ' .. ARGV[1])
return token
"""


@dataclass(frozen=True)
class Owner:
    camera_id: str
    token: int  # the fencing token: larger for every later owner
    edge: str
    whep_url: str | None  # where viewers reach this edge's live view; None: not offered

    @property
    def value(self) -> str:
        return " ".join(str(p) for p in (self.token, self.edge, self.whep_url) if p)


class Ownership:
    """One edge's side: take, renew and release the cameras it records."""

    def __init__(
        self,
        client: redis.Redis,
        edge: str,
        whep_url: str | None = None,
        ttl_s: float = OWNER_TTL_S,
    ) -> None:
        if not edge or any(c.isspace() or not c.isprintable() for c in edge):
            raise ValueError("an edge's name is printable, without spaces")
        if whep_url is not None and any(c.isspace() or not c.isprintable() for c in whep_url):
            raise ValueError("the live-view URL is printable, without spaces")
        self.client = client
        self.edge = edge
        self.whep_url = whep_url
        self.ttl_s = ttl_s

    def take(self, camera_id: str) -> Owner:
        """The camera is this edge's from now, whoever had it."""
        holder = " ".join(p for p in (self.edge, self.whep_url) if p)
        keys = (redis_keys.camera_owner(camera_id), redis_keys.camera_fence(camera_id))
        ttl_ms = int(self.ttl_s * 1000)
        token = int(
            self.client.eval(_TAKE, 2, *keys, holder, ttl_ms, redis_keys.CAMERA_TAKEN, camera_id)
        )
        return Owner(camera_id, token, self.edge, self.whep_url)

    def renew(self, owner: Owner) -> bool:
        """False once another edge has taken the camera (or the lease lapsed)."""
        ttl_ms = int(self.ttl_s * 1000)
        return bool(
            self.client.eval(
                RENEW_SCRIPT, 1, redis_keys.camera_owner(owner.camera_id), owner.value, ttl_ms
            )
        )

    def release(self, owner: Owner) -> None:
        self.client.eval(RELEASE_SCRIPT, 1, redis_keys.camera_owner(owner.camera_id), owner.value)


def owner_of(client: redis.Redis, camera_id: str) -> Owner | None:
    """Who owns the camera now; None if no edge does."""
    raw = client.get(redis_keys.camera_owner(camera_id))
    if raw is None:
        return None
    return _parse(camera_id, raw.decode() if isinstance(raw, bytes) else str(raw))


def _parse(camera_id: str, value: str) -> Owner | None:
    parts = value.split(" ")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    return Owner(camera_id, int(parts[0]), parts[1], parts[2] if len(parts) > 2 else None)


def parse_taken(message: str) -> Owner | None:
    """A take as `CAMERA_TAKEN` carries it ("CAMERA TOKEN EDGE [WHEP_URL]"); None if garbled."""
    camera_id, _, value = message.partition(" ")
    return _parse(camera_id, value)


OWNER_PREFIX = redis_keys.camera_owner("")


def all_owners(client: redis.Redis, batch: int = 1000) -> list[Owner]:
    """Every stream's owner now (a SCAN of the leases: for an operations view, not a hot
    path); a sub-stream's under its stream id (`{camera}/sub`)."""
    owners: list[Owner] = []
    keys: list[str] = []

    def read() -> None:
        for key, raw in zip(keys, client.mget(keys), strict=True):
            if raw is not None:
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                found = _parse(key.removeprefix(OWNER_PREFIX), text)
                if found is not None:
                    owners.append(found)
        keys.clear()

    for key in client.scan_iter(match=OWNER_PREFIX + "*", count=batch):
        keys.append(key.decode() if isinstance(key, bytes) else str(key))
        if len(keys) >= batch:
            read()
    if keys:
        read()
    return owners
