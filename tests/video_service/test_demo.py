import os
import signal
import subprocess
import sys
from pathlib import Path

import m3u8


def test_the_readme_main_job_gives_a_live_ladder_that_plays_over_http(tmp_path: Path) -> None:
    """As the README runs it: no REDIS_URL, so the demo starts the embedded Redis in its work
    directory, and stops it as it ends (its `redis-server` would be left behind)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
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
    # The embedded Redis names itself by its address only: found by its pid file.
    pid_file = tmp_path / "demo" / "redis" / "redis.pid"
    assert pid_file.parent.is_dir(), "the demo ran on the embedded Redis"
    pid = int(pid_file.read_text()) if pid_file.exists() else 0
    left_running = pid > 0 and Path(f"/proc/{pid}").exists()
    if left_running:
        os.kill(pid, signal.SIGTERM)  # not left for the next test either
    assert not left_running, "the demo's embedded Redis was left running"
