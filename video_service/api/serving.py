"""`sparc-video serve --workers N`: N server processes, each with its own listening socket on
the same port (SO_REUSEPORT), so the kernel spreads connections evenly over them. (One
shared socket, as uvicorn's own --workers has, lets the busiest process accept most of a
burst of connections while the others idle: at 1,000 connections that was the tail.)

The parent starts the processes, forwards SIGINT/SIGTERM, and exits when they have. With
more than one, their metrics go to files (prometheus_client's multiprocess mode, in
`STATE_DIR/metrics/api`, emptied at start), so that any process's /metrics answers for all."""

import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
from types import FrameType

import uvicorn

from video_service.api.settings import ApiSettings
from workers.base.metrics import enable_multiprocess, mark_process_dead

APP = "video_service.api.asgi:create_from_environment"


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def run_server(host: str, port: int, access_log: bool, reuse_port: bool) -> None:
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_level="info", access_log=access_log,
        backlog=4096,
    )  # fmt: skip
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGINT, then raises it again: not a failure here.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listening_socket(host, port, reuse_port=reuse_port)])


def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    if workers == 1:
        run_server(host, port, access_log, reuse_port=False)
        return
    # Bound here first, so that a port in use fails once and clearly, before any worker.
    probe = listening_socket(host, port, reuse_port=True)
    metrics_dir = ApiSettings().state_dir / "metrics" / "api"
    enable_multiprocess(metrics_dir)  # inherited by the server processes
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=run_server, args=(host, port, access_log, True), name=f"sparc-api-{n}"
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    probe.close()

    def forward(signum: int, _: FrameType | None) -> None:
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)  # each server shuts down gracefully

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for process in processes:
        process.join()
        if process.pid is not None:
            mark_process_dead(process.pid)
    shutil.rmtree(metrics_dir, ignore_errors=True)
