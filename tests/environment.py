"""The machine's services the tests use, real ones: Redis, PostgreSQL, RabbitMQ.

Under pytest-xdist each worker process gets a Redis database of its own (9, 10, ...), since
the tests empty theirs; PostgreSQL gets a new database per test; the tests that use
RabbitMQ's shared queues take turns (the `rabbitmq` fixture holds a lock file).
"""

import os
from urllib.parse import urlsplit, urlunsplit

_FIRST_REDIS_DB = 9


def _redis_url() -> str:
    url = os.environ.get("SPARC_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_FIRST_REDIS_DB}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or _FIRST_REDIS_DB)
    return urlunsplit(parts._replace(path=f"/{base + offset}"))


TEST_REDIS_URL = _redis_url()
POSTGRES_ADMIN_URL = os.environ.get(
    "SPARC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ_URL = os.environ.get("SPARC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
