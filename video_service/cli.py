"""`sparc-video`: transcode locally, run a worker, enqueue and follow a job, probe the hardware."""

import asyncio
import json
import os
import shutil
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import click
from pydantic import ValidationError

from video_service.api.db import create_database, session_scope
from video_service.api.edge_adapters import DatabaseDirectory
from video_service.api.errors import ApiError, UnknownSites
from video_service.api.keys import create_key, key_public, list_keys, revoke_key
from video_service.api.live import build_live_services
from video_service.api.models import Role, Scope
from video_service.api.recording_store import DatabaseRecordings
from video_service.api.schemas import KeyCreate
from video_service.api.settings import ApiSettings
from video_service.api.users import create_user
from video_service.demo import DemoPorts, run_demo
from video_service.edge.server import Edge
from video_service.edge.settings import EdgeSettings
from video_service.progress_bar import ProgressBar
from video_service.shared.ownership import Ownership
from workers.base.errors import TranscodeError
from workers.base.metrics import enable_multiprocess, serve_metrics, spool_collector
from workers.base.redis_client import connect
from workers.base.redis_server import resolve_redis_url, stop_embedded_redis
from workers.base.secrets import new_key, secret_box
from workers.base.settings import Settings, WorkerSettings
from workers.base.spool import spool_backlog
from workers.engine.commands import Accel
from workers.engine.file_job import Report, run_transcode
from workers.engine.hardware import Capability, gpu_encoder_ready, probe_hardware
from workers.engine.inputs import has_protocol
from workers.queue.capacity import read_pools, render
from workers.queue.celery_app import create_celery_app
from workers.queue.dispatch import requeue_orphans, submit_job
from workers.queue.jobs import JobSpec, JobState, JobStatus, JobStore
from workers.queue.pools import Pool, start_heartbeat

S = TypeVar("S", bound=Settings)


@click.group()
def main() -> None:
    """SPARC Video: RTSP and files in, a five-rung HLS ladder out."""


def read_settings(kind: type[S]) -> S:
    """This process's settings, read once from the environment; a bad value fails here,
    clearly, before anything starts."""
    try:
        return kind()
    except ValidationError as error:
        raise click.ClickException(f"bad configuration in the environment:\n{error}") from error


def load_settings() -> WorkerSettings:
    return read_settings(WorkerSettings)


@main.command()
@click.argument("input_")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--gpu", is_flag=True, help="CUDA decode and scaling, NVENC: where the probe passes.")
def transcode(input_: str, outdir: Path, gpu: bool) -> None:
    """Transcode the file INPUT into a VOD HLS ladder in OUTDIR, here, with a progress bar.
    A local file is read wherever it is: you named it (SPARC_ALLOWED_ROOTS guards what
    reaches workers through the queue)."""
    settings = load_settings()
    _, accel = _choose_worker_pool(Pool.GPU if gpu else Pool.CPU, settings)
    bar = ProgressBar(sys.stdout, "transcoding")

    def on_report(report: Report) -> None:
        bar.update(report.percent, report.speed)

    try:
        result = run_transcode(
            input_, outdir, settings, accel=accel, on_report=on_report, named_here=True
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
    client = connect(redis_url)
    # At each beat the live workers look for jobs whose worker died mid-job: queued again.
    stop = start_heartbeat(client, chosen, name, settings.worker_heartbeat_s, concurrency,
                           also=lambda: requeue_orphans(app, client, claim_s=60))  # fmt: skip
    # Its prefork children record the metrics: files that this process serves.
    metrics_dir = settings.state_dir / "metrics" / f"worker-{os.getpid()}"
    enable_multiprocess(metrics_dir)
    serve_metrics(settings.metrics_port)  # no spool: a worker puts its rungs in storage itself
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
        shutil.rmtree(metrics_dir, ignore_errors=True)


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
@click.option("--pool", type=click.Choice([p.value for p in Pool]), default=None)
@click.option("--follow/--no-follow", default=True, show_default=True)
def enqueue(input_: str, outdir: Path, score: int, pool: str | None, follow: bool) -> None:
    """Submit INPUT to the worker pool, follow its progress; exit non-zero if it fails."""
    settings = load_settings()
    redis_url = resolve_redis_url(settings)
    client = connect(redis_url)
    app = create_celery_app(settings, redis_url)
    spec = JobSpec(_absolute_input(input_), str(outdir.absolute()), score)
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
@click.option("--whep-port", type=int, default=8889, show_default=True,
              help="Live view over WebRTC (WHEP); 0: any free port.")  # fmt: skip
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo-out"))
@click.option("--once", is_flag=True, help="Exit once the URL is shown to play.")
def demo(
    seconds: int | None, api_port: int, rtsp_port: int, whep_port: int, workdir: Path, once: bool
) -> None:
    """The main job: a synthetic camera over RTSP, the ladder, a URL that plays."""
    ports = DemoPorts(api=api_port, rtsp=rtsp_port, whep=whep_port)
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
    from video_service.api.serving import serve as run

    # A bad configuration fails here, clearly, not in each server process; the embedded
    # Redis is started once, before them.
    resolve_redis_url(read_settings(ApiSettings))
    run(host, port, workers, access_log)


@main.command()
@click.option("--port", type=int, default=None, help="RTSP port (default SPARC_RTSP_PORT, 8554).")
def edge(port: int | None) -> None:
    """Run the RTSP edge: cameras publish to rtsp://HOST:PORT/cam/ID with their password."""
    settings = read_settings(EdgeSettings)
    sessions = create_database(settings.database_url)
    live = build_live_services(sessions, settings)
    directory = DatabaseDirectory(sessions, secret_box(settings))
    recordings = DatabaseRecordings(sessions)
    # Each camera is owned by the edge its publisher reached (a lease in Redis).
    name = f"{socket.gethostname()}:{port or settings.rtsp_port}"
    ownership = Ownership(live.redis, name, settings.whep_public_url)
    edge = Edge.open(settings, directory, live.events, scheduler=live.scheduler,
                     recordings=recordings, ownership=ownership)  # fmt: skip
    spool = spool_collector(lambda: spool_backlog(settings.state_dir, "edge"), time.time)
    serve_metrics(settings.metrics_port, extra=[spool])
    asyncio.run(_run_edge(edge, port, settings.whep_port > 0))


async def _run_edge(server: Edge, port: int | None, whep: bool) -> None:
    listener = await server.start(port=port)
    for sock in listener.sockets:
        click.echo(f"RTSP edge listening on {sock.getsockname()[0]}:{sock.getsockname()[1]}")
    if whep:
        click.echo(f"live view (WHEP) on port {await server.serve_live_view()}")
    try:
        async with listener:
            await listener.serve_forever()
    finally:
        await server.close()


@main.command()
@click.option("--watch", is_flag=True, help="Refresh every 2 s until interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print the view as JSON.")
def pools(watch: bool, as_json: bool) -> None:
    """The worker pools: workers, queue by priority band, last minute, workers needed."""
    settings = load_settings()
    redis_url = resolve_redis_url(settings)
    app = create_celery_app(settings, redis_url)
    client = connect(redis_url)
    while True:
        view = read_pools(app, client)
        text = json.dumps(view.as_dict(), indent=2) if as_json else render(view)
        if not watch:
            click.echo(text)
            return
        click.clear()
        click.echo(text)
        try:
            time.sleep(2)
        except KeyboardInterrupt:
            return


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
    sessions = create_database(read_settings(ApiSettings).database_url)
    request = KeyCreate(name=name, scope=Scope(scope), site_ids=list(sites))
    try:
        with session_scope(sessions) as session:
            created = create_key(session, request)
    except UnknownSites as error:
        raise click.ClickException(str(error)) from error
    click.echo(created.key)


@keys.command("list")
def keys_list() -> None:
    """Every API key: id, scope, sites, expiry (never the key: only its hash is kept)."""
    sessions = create_database(read_settings(ApiSettings).database_url)
    with session_scope(sessions) as session:
        for record in map(key_public, list_keys(session)):
            expiry = f"expires {record.expires_at:%Y-%m-%d}" if record.expires_at else ""
            sites = ",".join(record.site_ids)
            click.echo(f"{record.id}  {record.scope.value:<6}  {record.name}  {sites}  {expiry}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key: every API process refuses it within a second."""
    sessions = create_database(read_settings(ApiSettings).database_url)
    with session_scope(sessions) as session:
        if not revoke_key(session, key_id):
            raise click.ClickException(f"no key {key_id}")
    click.echo(f"revoked {key_id}")


@main.group()
def users() -> None:
    """The console's users (people; machines use API keys)."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="admin: everything; operator: watch, events, recordings on their sites.",
)
@click.option("--site", "sites", multiple=True, help="A site an operator may see (repeat).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username: str, role: str, sites: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user who signs in to the console (without --password-stdin, asks for it)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = create_database(read_settings(ApiSettings).database_url)
    try:
        with session_scope(sessions) as session:
            user = create_user(session, username, Role(role), list(sites), password)
            created = f"created {user.role} {user.username} ({user.id})"
    except ApiError as error:
        raise click.ClickException(error.message) from error
    click.echo(created)


@main.command("secret-key")
def secret_key() -> None:
    """Print a new key for SPARC_SECRET_KEY (secrets at rest; give every node the same)."""
    click.echo(new_key())


@main.command("redis-url")
def redis_url_command() -> None:
    """Print the Redis URL in use, starting the embedded server where REDIS_URL is unset."""
    click.echo(resolve_redis_url(read_settings(Settings)))


@main.command("redis-stop")
def redis_stop() -> None:
    """Stop the embedded Redis server of this machine's state directory."""
    stopped = stop_embedded_redis(read_settings(Settings).state_dir / "redis")
    click.echo("stopped" if stopped else "no embedded Redis was running")


if __name__ == "__main__":
    sys.exit(main())
