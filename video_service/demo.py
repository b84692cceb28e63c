"""The main job, end to end: a generated camera-like file through the worker pool into a
ladder served over HTTP, checked by ffprobe through that URL, then left playing."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from video_service.origin import start_origin
from workers.celery_app import create_celery_app
from workers.dispatch import submit_job
from workers.jobs import JobSpec, JobState, JobStatus, JobStore
from workers.process import run_capture
from workers.redis_server import resolve_redis_url
from workers.settings import WorkerSettings


def build_sample_command(settings: WorkerSettings, path: Path, seconds: int) -> list[str]:
    video = "testsrc2=size=1920x1080:rate=30"
    tone = "sine=frequency=440:sample_rate=48000"
    return [
        settings.ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", tone, "-t", str(seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-maxrate", "5M",
        "-bufsize", "8M", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(path),
    ]  # fmt: skip


def start_demo_worker(redis_url: str, workdir: Path, log: Path) -> "subprocess.Popen[bytes]":
    env = {**os.environ, "REDIS_URL": redis_url, "SPARC_ALLOWED_ROOTS": str(workdir)}
    command = [sys.executable, "-m", "video_service.cli", "worker", "--hostname", "demo@local"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def run_demo(
    settings: WorkerSettings,
    workdir: Path,
    *,
    seconds: int,
    port: int,
    follow: Callable[[JobStore, str], JobStatus],
    say: Callable[[str], None],
    once: bool,
) -> str:
    workdir = workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"allowed_roots": [workdir]})
    sample = workdir / "camera.mp4"
    say(f"1/4 generating {seconds} s of 1080p30 test camera video: {sample}")
    run_capture(build_sample_command(settings, sample, seconds), timeout_s=600)
    redis_url = resolve_redis_url(settings)
    say(f"2/4 starting a CPU worker on {_redacted(redis_url)} (log: {workdir / 'worker.log'})")
    worker = start_demo_worker(redis_url, workdir, workdir / "worker.log")
    try:
        client = redis.Redis.from_url(redis_url)
        app = create_celery_app(settings, redis_url)
        job_id = submit_job(app, client, JobSpec(str(sample), str(workdir / "ladder"), score=100))
        say(f"3/4 job {job_id} queued; following it")
        status = follow(JobStore(client), job_id)
        if status.state is not JobState.DONE:
            raise RuntimeError(f"the demo job failed: {status.error}")
    finally:
        worker.terminate()
        worker.wait(30)
    origin = start_origin(workdir / "ladder", port=port)
    url = f"http://127.0.0.1:{origin.server_address[1]}/master.m3u8"
    _check_plays(settings, url)
    say(f"4/4 the ladder plays: {url}")
    say("    open it in Safari, VLC, ffplay or any hls.js page; Ctrl-C stops the demo")
    if not once:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    origin.shutdown()
    return url


def _check_plays(settings: WorkerSettings, url: str) -> None:
    """Read every rung through the URL, as a player would, and decode a second of each."""
    probe = [settings.ffprobe, "-v", "error", "-show_entries", "stream=width,height", "-of"]
    done = run_capture([*probe, "csv=p=0", url], timeout_s=60)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the ladder at {url} does not open: {done.stderr_tail}")


def _redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
