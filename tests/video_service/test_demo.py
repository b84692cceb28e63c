import os
import subprocess
import sys
from pathlib import Path

import m3u8

from tests.conftest import TEST_REDIS_URL


def test_the_readme_main_job_produces_a_ladder_that_plays_over_http(
    tmp_path: Path, redis_client: object
) -> None:
    env = {**os.environ, "REDIS_URL": TEST_REDIS_URL, "SPARC_STATE_DIR": str(tmp_path / "st")}
    command = [sys.executable, "-m", "video_service.cli", "demo", "--once", "--seconds", "8"]
    command += ["--port", "0", "--workdir", str(tmp_path / "demo")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4/4 the ladder plays: http://127.0.0.1:" in done.stdout
    master = m3u8.load(str(tmp_path / "demo" / "ladder" / "master.m3u8"))
    assert [p.stream_info.resolution[1] for p in master.playlists] == [240, 360, 480, 720, 1080]
