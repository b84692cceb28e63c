import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from workers.base.redis_server import embedded_pid, ensure_embedded_redis, stop_embedded_redis


def test_embedded_redis_is_a_real_private_server_shared_by_every_command(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    url = ensure_embedded_redis(directory)
    try:
        assert url.startswith("redis://:") and "@127.0.0.1:" in url
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert client.info("server")["redis_version"]
        assert ensure_embedded_redis(directory) == url, "a second command reuses it"
        without_password = redis.Redis(port=client.connection_pool.connection_kwargs["port"])
        with pytest.raises(redis.AuthenticationError):
            without_password.get("x")
        assert oct((directory / "url").stat().st_mode & 0o777) == "0o600"
    finally:
        assert stop_embedded_redis(directory)
    assert not stop_embedded_redis(directory)


def test_cli_starts_it_where_no_redis_url_is_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SPARC_REDIS_URL")}
    env["SPARC_STATE_DIR"] = str(tmp_path)
    command = [sys.executable, "-m", "video_service.cli", "redis-url"]
    url = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    try:
        assert redis.Redis.from_url(url.strip()).ping()
        pid = embedded_pid(tmp_path / "redis")
        assert pid is not None
        assert "redis-server" in Path(f"/proc/{pid}/cmdline").read_text()
    finally:
        stop = [sys.executable, "-m", "video_service.cli", "redis-stop"]
        subprocess.run(stop, env=env, check=True, capture_output=True)
