"""The name of every Redis key and channel SPARC Video uses, and nowhere else.

Everything is under `sparc:`, so that a deployment may share a Redis (and a test may read
what is ours). Keys that name a camera or a worker end with it, so that a prefix scan finds
a pool's or a camera's keys. Who writes each, and who reads it, is said beside it.
"""

from typing import Final

PREFIX: Final = "sparc:"

# Channels (pub/sub), `workers.base.notices`.
CAMERA_TAKEN: Final = "sparc:camera:taken"  # an edge took a camera (ownership)
CAMERA_CHANGED: Final = "sparc:camera:changed"  # the API changed a camera

# Camera ownership (`video_service.shared.ownership`): written by edges, read by all.
EDGES_ALIVE: Final = "sparc:edges:alive"  # sorted set: edge -> last beat
# hash: edge -> where it serves live view (`video_service.shared.edges`); the console's
# Content-Security-Policy names them.
EDGES_LIVE_VIEW: Final = "sparc:edges:live-view"


def camera_owner(camera_id: str) -> str:
    return f"sparc:camera:owner:{camera_id}"


def camera_fence(camera_id: str) -> str:
    """The counter the owners' fencing tokens come from."""
    return f"sparc:camera:fence:{camera_id}"


def camera_stream(stream_id: str) -> str:
    """What a live stream is (codec, size, edge), while it is (`video_service.shared.streams`):
    written by the edge that has it, read by the API."""
    return f"sparc:camera:stream:{stream_id}"


# Still pictures (`video_service.shared.stills`): the API notes who is asked about, the
# edges make the pictures.
STILLS_ASKED: Final = "sparc:stills:asked"  # sorted set: camera -> when last asked about


def camera_still(camera_id: str) -> str:
    """A camera's latest still picture: a hash of its JPEG and when it was taken."""
    return f"sparc:camera:still:{camera_id}"


def planned_master(camera_id: str) -> str:
    """The camera's master as planned by its edge (`workers.engine.master`)."""
    return f"sparc:camera:planned-master:{camera_id}"


# Viewer sessions (`video_service.shared.viewer_sessions`): the API writes, the edge reads.
ALL_VIEWER_SESSIONS: Final = "sparc:sessions"  # every camera's sessions, counted


def viewer_sessions(camera_id: str) -> str:
    return f"sparc:viewers:{camera_id}"


def viewer_holders(camera_id: str) -> str:
    """Who holds a camera's sessions (a key), each at its latest session's expiry."""
    return f"sparc:viewers:{camera_id}:holders"


def holder_sessions(camera_id: str, holder: str) -> str:
    return f"sparc:viewers:{camera_id}:held:{holder}"


# The live ladder (`workers.engine.live_ladder`): workers write, edges and the origin read.
LADDER_OUTCOMES: Final = "sparc:ladder:outcomes"  # list: what each job did, for the edge


def segment_lease(camera_id: str, segment: str) -> str:
    return f"sparc:segment:lease:{camera_id}:{segment}"


def segment_state(camera_id: str, segment: str) -> str:
    return f"sparc:segment:state:{camera_id}:{segment}"


def ladder_made(camera_id: str) -> str:
    return f"sparc:ladder:made:{camera_id}"


def ladder_published(camera_id: str) -> str:
    return f"sparc:ladder:published:{camera_id}"


def render_lease(camera_id: str) -> str:
    return f"sparc:render:{camera_id}"


def publish_lag(camera_id: str, rendition: str = "") -> str:
    """A camera's publish lag samples per rendition (the edge's scheduler); with no
    rendition, the prefix of them all."""
    return f"sparc:lag:{camera_id}:{rendition}"


# Jobs and pools (`workers.queue`): workers write, the pools view reads.
def job(job_id: str) -> str:
    return f"sparc:job:{job_id}"


def job_attempts(job_id: str) -> str:
    return f"sparc:job:{job_id}:attempts"


def job_lease(job_id: str) -> str:
    return f"sparc:job:{job_id}:lease"


def job_requeued(job_id: str) -> str:
    """Set while one worker requeues a job whose worker died (so only one does)."""
    return f"sparc:job:{job_id}:requeued"


JOBS_RUNNING: Final = "sparc:jobs:running"  # sorted set: file jobs running now, by start


def pool_worker(pool: str, worker: str = "") -> str:
    """A live worker's heartbeat (its slots); with no worker, the pool's prefix."""
    return f"sparc:pool:{pool}:{worker}"


def pool_activity(pool: str, outcome: str, bucket: int) -> str:
    return f"sparc:activity:{pool}:{outcome}:{bucket}"


def pool_durations(pool: str) -> str:
    return f"sparc:durations:{pool}"


def pool_busy(pool: str, worker: str) -> str:
    return f"sparc:busy:{pool}:{worker}"


EDGE_STATE_PREFIX: Final = "sparc:edge:"


def edge_state(edge: str) -> str:
    """An edge's cameras and ingest rate, for the pools view."""
    return f"{EDGE_STATE_PREFIX}{edge}"


# CDN health (`video_service.delivery.cdn_health`): shared by every API node.
CDN_HEALTH: Final = "sparc:cdn:health"
CDN_PROBER: Final = "sparc:cdn:prober"  # the lease of the node that probes now


# The API's response cache (`video_service.api.response_cache`).
def http_generation(tag: str) -> str:
    return f"sparc:http:gen:{tag}"


def http_response(tag: str, scope: str, path: str, digest: str) -> str:
    return f"sparc:http:{tag}:{scope}:{path}:{digest}"


# The console's sign-in sessions (`video_service.api.web_sessions`): the API writes and reads.
def web_session(token_hash: str) -> str:
    """A signed-in session, by the hash of its cookie's token: who, and since when."""
    return f"sparc:web-session:{token_hash}"


def user_web_sessions(user_id: str) -> str:
    """The sessions of a user (a set of token hashes), all ended when the user is disabled."""
    return f"sparc:user-web-sessions:{user_id}"


def sign_in_failures(kind: str, who: str) -> str:
    """Failed sign-ins in the current window, per user name or per address (`kind`)."""
    return f"sparc:sign-in-failures:{kind}:{who}"
