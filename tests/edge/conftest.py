"""Fixtures of the edge's tests."""

from collections.abc import Callable, Iterator

import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, start_edge


@pytest.fixture
def admin(sqlite_api: Api) -> Callable[..., dict[str, object]]:
    client = sqlite_api.client()
    site = client.post("/api/sites", json={"name": "HQ", "tier": 2}).json()

    def make_camera(name: str = "Gate") -> dict[str, object]:
        response = client.post("/api/cameras", json={"site_id": site["id"], "name": name})
        assert response.status_code == 201
        return dict(response.json())

    return make_camera


@pytest.fixture
def edge(sqlite_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(sqlite_api)
