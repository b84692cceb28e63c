"""`sparc-video`: transcode locally, run a worker, enqueue and follow a job, probe the hardware."""

import asyncio
import json
import os
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
import redis
from pydantic import ValidationError

from video_service.db import create_database, session_scope
from video_service.demo import DemoPorts, run_demo
from video_service.edge import Edge
from video_service.keys import UnknownSites, create_key
from video_service.live import build_live_services
from video_service.models import Scope
from video_service.progress_bar import ProgressBar
from video_service.schemas import KeyCreate
from video_service.settings import ApiSettings
from workers.celery_app import create_celery_app
from workers.commands import Accel
from workers.dispatch import submit_job
from workers.errors import TranscodeError
from workers.hardware import Capability, gpu_encoder_ready, probe_hardware
from workers.jobs import JobSpec, JobState, JobStatus, JobStore
from workers.pools import Pool, start_heartbeat
from workers.redis_server import resolve_redis_url, stop_embedded_redis
from workers.settings import WorkerSettings
from workers.sources import has_protocol
from workers.transcode import Report, run_transcode


@click.group()
def main() -> None:
    """SPARC Video: RTSP and files in, a five-rung HLS ladder out."""


def load_settings() -> WorkerSettings:
    try:
        return WorkerSettings()
    except ValidationError as error:
        raise click.ClickException(f"bad configuration in the environment:\n{error}") from error


@main.command()
@click.argument("input_")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--live", is_flag=True, help="Treat the input as live: keep a sliding window.")
@click.option("--gpu", is_flag=True, help="CUDA decode and scaling, NVENC: where the probe passes.")
def transcode(input_: str, outdir: Path, live: bool, gpu: bool) -> None:
    """Transcode INPUT into an HLS ladder in OUTDIR, here, with a progress bar."""
    settings = load_settings()
    _, accel = _choose_worker_pool(Pool.GPU if gpu else Pool.CPU, settings)
    bar = ProgressBar(sys.stdout, "transcoding")

    def on_report(report: Report) -> None:
        if live:
            bar.note(f"live, {report.out_time_s // 10 * 10:.0f} s in")
        bar.update(report.percent, report.speed)

    try:
        result = run_transcode(
            input_, outdir, settings, live=live, accel=accel, on_report=on_report
        )
    except TranscodeError as error:
        raise click.ClickException(str(error)) from error
    finally:
        bar.close()
    copied = {rung.name for rung in result.plan.rungs if rung.copy}
    for rendition in result.renditions:
        click.echo(
            f"{rendition.name:>6} {rendition.width}x{rendition.height} "
            f"peak {rendition.peak_bps / 1000:.0f} kb/s avg {rendition.average_bps / 1000:.0f} kb/s"
            + (" (source copied)" if rendition.name in copied else "")
        )
    click.echo(f"master playlist: {result.master}")


@main.command()
@click.option("--pool", type=click.Choice([p.value for p in Pool]), default=Pool.CPU.value)
@click.option("--concurrency", type=int, default=1, show_default=True)
@click.option("--hostname", default=None, help="Worker name (default: POOL@HOST-PID).")
@click.option("--loglevel", default="info", show_default=True)
def worker(pool: str, concurrency: int, hostname: str | None, loglevel: str) -> None:
    """Run a Celery worker for the pool its hardware probe allows."""
    settings = load_settings()
    chosen, accel = _choose_worker_pool(Pool(pool), settings)
    redis_url = resolve_redis_url(settings)
    app = create_celery_app(settings, redis_url, accel=accel)
    name = hostname or f"{chosen.value}@{socket.gethostname()}-{os.getpid()}"
    stop = start_heartbeat(
        redis.Redis.from_url(redis_url), chosen, name, settings.worker_heartbeat_s
    )
    try:
        app.worker_main(
            [
                "worker",
                f"--queues={chosen.queue}",
                f"--concurrency={concurrency}",
                f"--hostname={name}",
                f"--loglevel={loglevel}",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        stop.set()


def _choose_worker_pool(requested: Pool, settings: WorkerSettings) -> tuple[Pool, Accel]:
    if requested is Pool.CPU:
        return Pool.CPU, Accel.CPU
    capabilities = probe_hardware(settings)
    _print_capabilities(capabilities)
    if gpu_encoder_ready(capabilities):
        click.echo("GPU encoder opened: using CUDA and NVENC (transcode.gpu)")
        return Pool.GPU, Accel.CUDA
    click.echo("no GPU encoder opened: falling back to the CPU (transcode.cpu)", err=True)
    return Pool.CPU, Accel.CPU


@main.command()
@click.argument("input_")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--score", type=click.IntRange(0, 1000), default=0, show_default=True)
@click.option("--live", is_flag=True)
@click.option("--pool", type=click.Choice([p.value for p in Pool]), default=None)
@click.option("--follow/--no-follow", default=True, show_default=True)
def enqueue(
    input_: str, outdir: Path, score: int, live: bool, pool: str | None, follow: bool
) -> None:
    """Submit INPUT to the worker pool, follow its progress; exit non-zero if it fails."""
    settings = load_settings()
    redis_url = resolve_redis_url(settings)
    client = redis.Redis.from_url(redis_url)
    app = create_celery_app(settings, redis_url)
    spec = JobSpec(_absolute_input(input_), str(outdir.absolute()), live, score)
    job_id = submit_job(app, client, spec, Pool(pool) if pool else None)
    click.echo(f"job {job_id} queued")
    if follow:
        status = _follow(JobStore(client), job_id)
        if status.state is JobState.FAILED:
            raise click.ClickException(f"job {job_id} failed: {status.error}")
        click.echo(f"master playlist: {status.master}")


def _absolute_input(raw: str) -> str:
    # The worker runs elsewhere; a relative path means nothing there. The worker checks it.
    return raw if has_protocol(raw) else str(Path(raw).expanduser().absolute())


def _follow(store: JobStore, job_id: str) -> JobStatus:
    bar = ProgressBar(sys.stdout, f"job {job_id[:8]}")
    try:
        while True:
            status = store.status(job_id)
            bar.note(_describe_attempt(status))
            bar.update(status.percent, status.speed)
            if status.state.finished:
                return status
            time.sleep(0.5)
    finally:
        bar.close()


def _describe_attempt(status: JobStatus) -> str:
    if status.state is JobState.QUEUED:
        return f"queued on {status.queue}"
    if status.state is JobState.RETRYING:
        return f"attempt {len(status.attempts)} failed, retrying: {status.error}"
    return f"attempt {len(status.attempts)} on {status.worker}"


@main.command("probe-hw")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def probe_hw(as_json: bool) -> None:
    """Open each hardware encoder and decoder and say what works and why not."""
    capabilities = probe_hardware(load_settings())
    if as_json:
        click.echo(json.dumps([asdict(c) for c in capabilities], indent=2))
        return
    _print_capabilities(capabilities)


def _print_capabilities(capabilities: list[Capability]) -> None:
    for cap in capabilities:
        mark = "yes" if cap.ok else "no "
        click.echo(f"{cap.name:<6} {cap.kind:<6} {mark} {cap.detail}")


@main.command()
@click.option(
    "--seconds",
    type=click.IntRange(10, 86400),
    default=None,
    help="Stop the synthetic camera after this long (default: run until Ctrl-C).",
)
@click.option("--api-port", type=int, default=8080, show_default=True)
@click.option("--rtsp-port", type=int, default=8554, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo-out"))
@click.option("--once", is_flag=True, help="Exit once the URL is shown to play.")
def demo(seconds: int | None, api_port: int, rtsp_port: int, workdir: Path, once: bool) -> None:
    """The main job: a synthetic camera over RTSP, the ladder, a URL that plays."""
    ports = DemoPorts(api=api_port, rtsp=rtsp_port)
    try:
        run_demo(workdir, ports=ports, seconds=seconds, once=once, say=click.echo)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every request (players poll playlists: that is a lot of lines).",
)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Run the control API, its origin and the web player (OpenAPI docs at /docs)."""
    from video_service.serving import serve as run

    load_api_settings()  # a bad configuration fails here, clearly, not in each worker
    resolve_redis_url(load_settings())  # start the embedded Redis once, before the workers
    run(host, port, workers, access_log)


@main.command()
@click.option("--port", type=int, default=None, help="RTSP port (default SPARC_RTSP_PORT, 8554).")
def edge(port: int | None) -> None:
    """Run the RTSP edge: cameras publish to rtsp://HOST:PORT/cam/ID with their password."""
    settings = load_api_settings()
    sessions = create_database(settings.resolved_database_url)
    live = build_live_services(sessions)
    asyncio.run(_run_edge(Edge(settings, sessions, live.scheduler), port))


async def _run_edge(server: Edge, port: int | None) -> None:
    listener = await server.start(port=port)
    for sock in listener.sockets:
        click.echo(f"RTSP edge listening on {sock.getsockname()[0]}:{sock.getsockname()[1]}")
    try:
        async with listener:
            await listener.serve_forever()
    finally:
        await server.close()


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--admin", "scope", flag_value=Scope.ADMIN.value, help="A key that may do anything.")
@click.option("--viewer", "scope", flag_value=Scope.VIEWER.value, help="A key for some sites.")
@click.option("--site", "sites", multiple=True, help="A site a viewer key may see (repeat).")
@click.option("--name", default="cli", show_default=True)
def keys_create(scope: str | None, sites: tuple[str, ...], name: str) -> None:
    """Create an API key and print it (it is shown once; only its hash is kept)."""
    if scope is None:
        raise click.UsageError("say --admin or --viewer")
    sessions = create_database(load_api_settings().resolved_database_url)
    request = KeyCreate(name=name, scope=Scope(scope), site_ids=list(sites))
    try:
        with session_scope(sessions) as session:
            created = create_key(session, request)
    except UnknownSites as error:
        raise click.ClickException(str(error)) from error
    click.echo(created.key)


def load_api_settings() -> ApiSettings:
    try:
        return ApiSettings()
    except ValidationError as error:
        raise click.ClickException(f"bad configuration in the environment:\n{error}") from error


@main.command("redis-url")
def redis_url_command() -> None:
    """Print the Redis URL in use, starting the embedded server where REDIS_URL is unset."""
    click.echo(resolve_redis_url(load_settings()))


@main.command("redis-stop")
def redis_stop() -> None:
    """Stop the embedded Redis server of this machine's state directory."""
    stopped = stop_embedded_redis(load_settings().state_dir / "redis")
    click.echo("stopped" if stopped else "no embedded Redis was running")


if __name__ == "__main__":
    sys.exit(main())
