"""The CLI as a user runs it: exit codes, messages, and nothing half-done left behind."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import m3u8
import pytest
import redis

from tests.environment import TEST_REDIS_URL
from tests.media import FIVE, assert_aligned_ladder
from tests.processes import Children
from tests.waiting import eventually
from tests.workers_harness import start_worker
from workers.base.ports import free_port
from workers.base.settings import WorkerSettings

CLI = [sys.executable, "-m", "video_service.cli"]


def env_for(settings: WorkerSettings) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": TEST_REDIS_URL,
        "SPARC_ALLOWED_ROOTS": ":".join(str(root) for root in settings.allowed_roots),
        "SPARC_STATE_DIR": str(settings.state_dir),
    }


def test_transcode_shows_progress_and_prints_the_ladder(
    source_360p: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*CLI, "transcode", str(source_360p), str(tmp_path / "out")],
        env=env_for(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "transcoding [##############################] 100.0%" in done.stdout
    assert "360p 640x360" in done.stdout and "(source copied)" in done.stdout
    assert m3u8.load(str(tmp_path / "out" / "master.m3u8")).is_variant


def test_transcode_reads_a_file_the_user_names_wherever_it_is(
    source_small: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SPARC_ALLOWED_ROOTS"}
    done = subprocess.run(
        [*CLI, "transcode", str(source_small), "out"],
        env={**env, "SPARC_STATE_DIR": str(tmp_path / "state")}, cwd=elsewhere,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert m3u8.load(str(elsewhere / "out" / "master.m3u8")).is_variant


def test_transcode_bad_input_exits_non_zero_with_the_reason(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*CLI, "transcode", "concat:a.ts|b.ts", str(tmp_path / "out")],
        env=env_for(settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Error: the FFmpeg protocol 'concat' is not allowed" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_killed_transcode_leaves_no_output_and_a_rerun_leaves_one(
    source_1080p: Path,
    settings: WorkerSettings,
    tmp_path: Path,
    children: Children,
) -> None:
    outdir = tmp_path / "out"
    command = [*CLI, "transcode", str(source_1080p), str(outdir)]
    victim = children.popen(
        command, env=env_for(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    eventually(lambda: list(tmp_path.glob(".out.staging-*/1080p/seg_*.ts")), 30, every=0.05)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not outdir.exists()
    done = subprocess.run(command, env=env_for(settings), capture_output=True, timeout=120)
    assert done.returncode == 0
    assert_aligned_ladder(outdir, FIVE)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_enqueue_follows_the_job_and_exits_by_its_outcome(
    source_small: Path,
    settings: WorkerSettings,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    env = env_for(settings)
    worker = start_worker(
        "cli-worker", {k: env[k] for k in env if k.startswith(("REDIS", "SPARC"))}, tmp_path
    )
    try:
        good = subprocess.run(
            [*CLI, "enqueue", str(source_small), str(tmp_path / "good"), "--score", "40"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert good.returncode == 0, good.stderr
        assert f"master playlist: {tmp_path / 'good' / 'master.m3u8'}" in good.stdout
        bad = subprocess.run(
            [*CLI, "enqueue", str(tmp_path / "missing.mp4"), str(tmp_path / "bad")],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert bad.returncode == 1
        assert "failed: " in bad.stderr and "missing.mp4 does not exist" in bad.stderr
    finally:
        worker.stop()


def test_serve_with_two_workers_answers_from_both_and_stops_on_interrupt(
    settings: WorkerSettings,
    tmp_path: Path,
    children: Children,
) -> None:
    port = free_port()
    env = {**env_for(settings), "SPARC_ADMIN_KEY": "sv_cli-admin-key-0123456789"}
    server = children.popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        eventually(healthy, 60, what="the API")

        # Two processes, each listening on the port with a socket of its own.
        def listening_pids() -> set[str]:
            command = ["ss", "-Hltnp", f"sport = :{port}"]
            listeners = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            return {part.split(",")[0] for part in listeners.split("pid=")[1:]}

        eventually(lambda: len(listening_pids()) >= 2, 30, what="two listening processes")
        assert len(listening_pids()) == 2
        for _ in range(20):  # new connections each: spread over both
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "Finished server process" in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz")
