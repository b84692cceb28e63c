"""Fixtures of the edge's tests."""

from collections.abc import Iterator

import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, start_edge


@pytest.fixture
def edge(sqlite_api: Api) -> Iterator[RunningEdge]:
    yield from start_edge(sqlite_api)
