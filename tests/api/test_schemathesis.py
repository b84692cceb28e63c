"""Schemathesis (property-based tests from our own OpenAPI schema) against the real API:
every operation, generated and mutated inputs, with an admin key and with none; no answer
may be a 5xx, use a status the schema does not document, or break its documented shape.
(The event stream is left out: it never ends by design; tests/api/test_events_api.py
covers it.)"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.api_harness import ADMIN_KEY, Api, live_services, run_api
from tests.environment import TEST_REDIS_URL
from video_service.api.settings import ApiSettings

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
# One worker: with two, hypothesis describes filter lambdas with ast.parse from two threads at
# once, and CPython 3.11's AST constructor is not thread-safe ("AST constructor recursion
# depth mismatch", a SystemError schemathesis reports as a runtime error and exits 1 on).


@pytest.fixture
def live_api(tmp_path: Path, database_url: str, redis_client: redis.Redis) -> Iterator[Api]:
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=tmp_path, admin_key=ADMIN_KEY,
        database_url=database_url,
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0))


@pytest.mark.long
@pytest.mark.parametrize("key", [ADMIN_KEY, None], ids=["admin", "no key"])
def test_no_generated_request_gets_a_5xx_or_an_answer_the_schema_does_not_document(
    live_api: Api, key: str | None, tmp_path: Path
) -> None:
    api = live_api
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    admin.post("/api/cameras", json={"site_id": site, "name": "Gate"})
    st = Path(sys.executable).with_name("st")
    # Without a key every operation is refused before its input is read: fewer examples
    # find as much there (the suite's four runs were its longest tests).
    examples = "25" if key is not None else "8"
    command = [
        str(st), "run", f"{api.url}/openapi.json", "--checks", CHECKS,
        "--max-examples", examples, "--seed", "20261128", "--phases", "coverage,fuzzing",
        "--workers", "1", "--exclude-path", "/api/events/stream",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    if key is not None:
        command += ["--header", f"Authorization: Bearer {key}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failures" not in done.stdout.split("SUMMARY")[-1]
