"""Shared fixtures: real Redis, real FFmpeg-generated media, settings rooted in a temp dir."""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.api_harness import (
    ADMIN_KEY,
    Api,
    create_postgres_database,
    drop_postgres_database,
    run_api,
)
from video_service.api.settings import ApiSettings
from workers.base.settings import WorkerSettings

TEST_REDIS_URL = os.environ.get("SPARC_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def ffmpeg(*args: str) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    subprocess.run(command, check=True, timeout=180)


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


@pytest.fixture
def settings(tmp_path: Path, media_dir: Path) -> WorkerSettings:
    return WorkerSettings(
        redis_url=TEST_REDIS_URL,
        allowed_roots=[tmp_path, media_dir],
        state_dir=tmp_path / "state",
    )


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
def admin(sqlite_api: Api) -> Callable[..., dict[str, object]]:
    client = sqlite_api.client()
    site = client.post("/api/sites", json={"name": "HQ", "tier": 2}).json()

    def make_camera(name: str = "Gate") -> dict[str, object]:
        response = client.post("/api/cameras", json={"site_id": site["id"], "name": name})
        assert response.status_code == 201
        return dict(response.json())

    return make_camera
