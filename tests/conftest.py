"""Shared fixtures: the machine's real services (Redis, PostgreSQL, RabbitMQ), an S3 wire server,
real FFmpeg-generated media, APIs and edges as the tests need them, child processes that
are always waited for."""

import asyncio
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu
import kombu.pools
import pytest
import redis

from tests.api_harness import (
    ADMIN_KEY,
    Api,
    create_postgres_database,
    drop_postgres_database,
    live_services,
    run_api,
)
from tests.edge_harness import RunningEdge, start_edge
from tests.environment import RABBITMQ_URL, TEST_REDIS_URL
from tests.media import ffmpeg
from tests.moto_harness import AWS_ENV, BUCKET, moto_endpoint
from tests.processes import Children
from tests.workers_harness import StartWorker, WorkerProcess, start_worker
from video_service.api.live import VIEWER_SESSION_TTL_S
from video_service.api.settings import ApiSettings
from video_service.shared.ownership import Ownership
from workers.base.ports import free_port
from workers.base.settings import WorkerSettings
from workers.queue.pools import Pool


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def _h264_source(path: Path, size: str, seconds: int, rate: int, *extra: str) -> Path:
    if not path.exists():
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
            "-g", str(2 * rate), "-keyint_min", str(2 * rate), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", *extra, "-c:a", "aac", "-b:a", "96k", str(path),
        )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def source_1080p(media_dir: Path) -> Path:
    """8 s of 1080p H.264 at 10 fps, a keyframe every 2 s, AAC: copyable as the top rung."""
    return _h264_source(media_dir / "src1080.mp4", "1920x1080", 8, 10)


@pytest.fixture(scope="session")
def source_360p(media_dir: Path) -> Path:
    return _h264_source(media_dir / "src360.mp4", "640x360", 7, 10)


@pytest.fixture(scope="session")
def source_small(media_dir: Path) -> Path:
    """3 s at 320x180: the quickest job there is, for queue tests."""
    return _h264_source(media_dir / "small.mp4", "320x180", 3, 10)


@pytest.fixture(scope="session")
def source_long_1080p(media_dir: Path) -> Path:
    """20 s of 1080p at 10 fps, no sound: a file job long enough to kill a worker mid-way."""
    source = media_dir / "long1080.mp4"
    if not source.exists():
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=10", "-t", "20",
               "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-sc_threshold", "0",
               "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    return source


@pytest.fixture
def settings(tmp_path: Path, media_dir: Path) -> WorkerSettings:
    return WorkerSettings(
        redis_url=TEST_REDIS_URL,
        allowed_roots=[tmp_path, media_dir],
        state_dir=tmp_path / "state",
    )


@pytest.hookimpl(trylast=True)  # after `-k` and `-m` deselect: shares of what will run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each process of pytest-xdist's `worksteal` (.ci/run) is first given a contiguous share
    of this order, and one left idle then takes the end of a busy one's share. So the long
    scenarios are dealt to the front of every share: each process starts on its part of them,
    and what moves at the end is short. (Under `load`, a process kept the long ones it was
    sent while the others sat idle: 4 minutes of a 9-minute run.)"""
    items[:] = dealt(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def dealt(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` in `workers` shares sized as worksteal sizes them (each process in turn gets
    what is left divided by the processes left), each share's long scenarios first."""
    long = [item for item in items if item.get_closest_marker("long")]
    rest = [item for item in items if not item.get_closest_marker("long")]
    if workers <= 1:
        return long + rest
    shares: list[list[pytest.Item]] = [long[n::workers] for n in range(workers)]
    left, taken = len(items), 0
    for served, share in enumerate(shares):
        size = left // (workers - served)
        left -= size
        more = max(0, size - len(share))
        share += rest[taken : taken + more]
        taken += more
    shares[-1] += rest[taken:]
    return [item for share in shares for item in share]


@pytest.fixture
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's RabbitMQ, for this test alone: its queues are shared by every process of
    the suite, so a test holds a lock file beside the processes' temporary folders while it
    uses them (pytest-xdist's groups are not kept on pytest 9). Our queues are dropped before
    (so that they are declared anew, with x-max-priority) and after."""
    lock_path = tmp_path_factory.getbasetemp().parent / "rabbitmq.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        drop_our_queues()
        yield RABBITMQ_URL
        drop_our_queues()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str | None:
    """Each of the brokers we support: the URL of the machine's RabbitMQ, or None for the
    test Redis (the default broker)."""
    return request.getfixturevalue("rabbitmq") if request.param == "rabbitmq" else None


def drop_our_queues() -> None:
    """Our queues deleted, and this process's pooled broker connections closed: a pooled
    connection remembers the queues it declared, so a later test's publish through it would
    not declare them again and RabbitMQ would drop its messages (no queue bound)."""
    with kombu.Connection(RABBITMQ_URL, connect_timeout=3) as connection:
        channel = connection.channel()
        for pool in Pool:
            channel.queue_delete(pool.queue)
    kombu.pools.reset()


@pytest.fixture
def children() -> Iterator[Children]:
    """Start child processes through this: each is stopped and waited for after the test."""
    started = Children()
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def new_redis() -> Iterator[Callable[[], redis.Redis]]:
    """Make clients of the test Redis (an edge's, a listener's), each closed after the test:
    a client left to the garbage collector warns about its socket in a later test."""
    made: list[redis.Redis] = []

    def make() -> redis.Redis:
        made.append(redis.Redis.from_url(TEST_REDIS_URL))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite (the embedded default) and the machine's real PostgreSQL, a new database each."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    yield from run_api(
        ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY, database_url=database_url)
    )


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    yield from run_api(ApiSettings(state_dir=tmp_path, admin_key=ADMIN_KEY))


@pytest.fixture
def edge(sqlite_api: Api) -> Iterator[RunningEdge]:
    """An edge recording for the SQLite API (no ladder, no live view)."""
    yield from start_edge(sqlite_api)


@pytest.fixture
def admin(sqlite_api: Api) -> Callable[..., dict[str, object]]:
    client = sqlite_api.client()
    site = client.post("/api/sites", json={"name": "HQ", "tier": 2}).json()

    def make_camera(name: str = "Gate") -> dict[str, object]:
        response = client.post("/api/cameras", json={"site_id": site["id"], "name": name})
        assert response.status_code == 201
        return dict(response.json())

    return make_camera


# Delivery through the embedded origin, with live services (Redis, Celery): the API hands out
# signed URLs on its own origin; 2 s segments.
@pytest.fixture
def origin_api(tmp_path: Path, redis_client: redis.Redis) -> Iterator[Api]:
    port = free_port()
    ttl = VIEWER_SESSION_TTL_S
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY, segment_seconds=2.0,
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, ttl), port=port)


@pytest.fixture
def origin_edge(origin_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(origin_api)


# Object storage: a real S3 wire-protocol server (moto) on loopback, and an API and an edge
# that keep the media there (2 s segments, a live window of 3).
@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    yield from moto_endpoint()


@pytest.fixture
def stored_api(tmp_path: Path, redis_client: redis.Redis, s3_endpoint: str) -> Iterator[Api]:
    port = free_port()
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY,
        segment_seconds=2.0, live_window=3, public_url=f"http://127.0.0.1:{port}",
        s3_bucket=BUCKET, s3_endpoint_url=s3_endpoint,
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0), port=port)


@pytest.fixture
def stored_edge(stored_api: Api) -> Iterator[RunningEdge]:
    scheduler = stored_api.app_state.live.scheduler  # type: ignore[attr-defined]
    yield from start_edge(stored_api, scheduler=scheduler, sweep_every_s=0.5)


# Live view: the API hands out the WHEP URL of an edge listening on `whep_port`.
@pytest.fixture
def whep_port() -> int:
    return free_port()


@pytest.fixture
def live_api_settings() -> dict[str, object]:
    """What a test module's live API sets besides the defaults (override it in the module)."""
    return {}


@pytest.fixture
def owning_edge_settings() -> dict[str, object]:
    """What a test module's owning edge sets besides the defaults (override it there)."""
    return {}


@pytest.fixture
def live_api(
    tmp_path: Path, redis_client: redis.Redis, whep_port: int, live_api_settings: dict[str, object]
) -> Iterator[Api]:
    port = free_port()
    settings = ApiSettings(**{
        "redis_url": TEST_REDIS_URL, "state_dir": tmp_path, "admin_key": ADMIN_KEY,
        "segment_seconds": 2.0, "public_url": f"http://127.0.0.1:{port}",
        "whep_url": f"http://127.0.0.1:{whep_port}", **live_api_settings,
    })  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0), port=port)


@pytest.fixture
def live_edge(live_api: Api, whep_port: int) -> Iterator[RunningEdge]:
    """An edge serving live view on `whep_port`, where a token may have a crowd of viewers
    connecting at once (the live-view test opens ten in a second)."""
    for running in start_edge(live_api, webrtc_pending_per_token=16):
        serving = running.edge.serve_live_view("127.0.0.1", whep_port)
        assert asyncio.run_coroutine_threadsafe(serving, running.loop).result(10) == whep_port
        yield running


@pytest.fixture
def owning_edge(
    live_api: Api,
    whep_port: int,
    redis_client: redis.Redis,
    owning_edge_settings: dict[str, object],
) -> Iterator[RunningEdge]:
    """An edge as `sparc-video edge` runs one: with ownership (each stream's lease, where
    viewers reach it), serving live view on `whep_port`."""
    ownership = Ownership(redis_client, "edge-a", f"http://127.0.0.1:{whep_port}")
    for running in start_edge(live_api, ownership=ownership, **owning_edge_settings):
        serving = running.edge.serve_live_view("127.0.0.1", whep_port)
        assert asyncio.run_coroutine_threadsafe(serving, running.loop).result(10) == whep_port
        yield running


# Real Celery workers (`sparc-video worker`) on the test Redis, each stopped after the test.
@pytest.fixture
def worker_env(settings: WorkerSettings) -> dict[str, str]:
    return {
        "REDIS_URL": TEST_REDIS_URL,
        "SPARC_ALLOWED_ROOTS": ":".join(str(root) for root in settings.allowed_roots),
        "SPARC_STATE_DIR": str(settings.state_dir),
    }


@pytest.fixture
def workers(
    worker_env: dict[str, str], tmp_path: Path, redis_client: redis.Redis
) -> Iterator[StartWorker]:
    started: list[WorkerProcess] = []

    def start(name: str, **extra: str) -> WorkerProcess:
        worker = start_worker(name, {**worker_env, **extra}, tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
