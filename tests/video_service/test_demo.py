import os
import subprocess
import sys
from pathlib import Path

import m3u8

from tests.environment import TEST_REDIS_URL


def test_the_readme_main_job_gives_a_live_ladder_that_plays_over_http(
    tmp_path: Path, redis_client: object
) -> None:
    env = {**os.environ, "REDIS_URL": TEST_REDIS_URL}
    command = [sys.executable, "-m", "video_service.cli", "demo", "--once", "--seconds", "90"]
    command += ["--api-port", "0", "--rtsp-port", "0", "--whep-port", "0"]
    command += ["--workdir", str(tmp_path / "demo")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6/7 the live ladder plays (signed, via the origin): http://127.0.0.1:" in done.stdout
    assert "/media/live/" in done.stdout and "token=" in done.stdout
    assert "7/7 the console: http://127.0.0.1:" in done.stdout
    assert "its wall's tile plays live: 1280x720" in done.stdout, done.stdout
    assert "sign in as admin with the password " in done.stdout
    assert "the camera's page: http://127.0.0.1:" in done.stdout
    camera_dirs = list((tmp_path / "demo" / "state" / "media" / "live").iterdir())
    assert len(camera_dirs) == 1
    master = m3u8.load(str(camera_dirs[0] / "master.m3u8"))
    heights = [p.stream_info.resolution[1] for p in master.playlists]
    # The copied source first (players start on what has segments), then the rungs.
    assert heights == [720, 240, 360, 480]
    assert master.playlists[0].uri == "source/index.m3u8"
    left = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    behind = [line for line in left.splitlines() if str(tmp_path / "demo") in line
              or "demo@local" in line]  # fmt: skip
    assert behind == [], "the demo leaves no process behind"
