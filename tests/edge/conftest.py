"""Fixtures of the edge's tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.conftest import TEST_REDIS_URL
from tests.edge_harness import RunningEdge, start_edge
from video_service.api.settings import ApiSettings
from workers.base.ports import free_port


@pytest.fixture
def edge(sqlite_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(sqlite_api)


# Live view: the API hands out the WHEP URL of an edge listening on `whep_port`.
@pytest.fixture
def whep_port() -> int:
    return free_port()


@pytest.fixture
def live_api(tmp_path: Path, redis_client: redis.Redis, whep_port: int) -> Iterator[Api]:
    port = free_port()
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY, segment_seconds=2.0,
        public_url=f"http://127.0.0.1:{port}", whep_url=f"http://127.0.0.1:{whep_port}",
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0), port=port)
