"""A camera's two streams: the main stream (recorded, the HLS ladder's source, live view) and
its sub-stream (`rtsp://EDGE/cam/{id}/sub`: small, relayed for walls and still pictures,
never recorded).

Each stream is owned on its own (`ownership`): the main under the camera's id, the
sub-stream under `sub_stream_id(camera)`. Behind a TCP load balancer the two may reach
different edges; the camera cannot be told to send both to one, so each viewer's live-view
URL names the edge that has the stream it asks for, and a takeover of one leaves the other
alone.

While a stream is live its edge keeps what it is (`StreamFacts`) in Redis
(`redis_keys.camera_stream`); the API shows it on the camera while the stream's lease is
held (the facts of an edge that died lapse with its lease, as far as a reader can tell).
"""

import json
from dataclasses import asdict, dataclass

import redis

from video_service.shared.ownership import owner_of
from workers.base import redis_keys

SUB = "sub"


def sub_stream_id(camera_id: str) -> str:
    """The sub-stream's name as a lease, a live feed and a WHEP path know it."""
    return f"{camera_id}/{SUB}"


@dataclass(frozen=True)
class StreamFacts:
    codec: str  # as the publisher's SDP names it: H264, H265, ...
    width: int | None  # from the SPS (H.264); None where not known
    height: int | None
    edge: str
    session: str  # the edge's session of the stream: only it forgets them


def write_facts(client: redis.Redis, stream_id: str, facts: StreamFacts, ttl_s: float) -> None:
    client.set(redis_keys.camera_stream(stream_id), json.dumps(asdict(facts)), px=int(ttl_s * 1000))


# Deleted only by the session that wrote them: one whose stream was taken over may end after
# the new one has written its own.
_CLEAR = """
local found = redis.call('get', KEYS[1])
if found and cjson.decode(found)['session'] == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def clear_facts(client: redis.Redis, stream_id: str, session: str) -> None:
    """Forget what the stream is, if `session` is the one that said it."""
    client.eval(_CLEAR, 1, redis_keys.camera_stream(stream_id), session)


def read_facts(client: redis.Redis, stream_id: str) -> StreamFacts | None:
    """What the stream is while it is live; None when it is not (or says nothing sane)."""
    raw = client.get(redis_keys.camera_stream(stream_id))
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        return StreamFacts(str(found["codec"]), _size(found["width"]), _size(found["height"]),
                           str(found["edge"]), str(found["session"]))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def live_facts(client: redis.Redis, stream_id: str) -> StreamFacts | None:
    """What the stream is, while an edge holds its lease (an edge that died says nothing)."""
    if owner_of(client, stream_id) is None:
        return None
    return read_facts(client, stream_id)


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and 0 < value < 65536 else None
