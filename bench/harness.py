"""What the benches share: their processes, started in a work folder and always stopped, with
nothing left behind (the embedded Redis a server started there included); waiting on a
condition; a process's CPU time; hello-world, the baseline every rate is compared with."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from workers.base.ports import free_port
from workers.base.process import stop_process
from workers.base.redis_server import stop_embedded_redis

CLI = [sys.executable, "-m", "video_service.cli"]
T = TypeVar("T")


class Processes:
    """Children of a bench, each in its own session (so that what it starts goes with it),
    its output in `work/NAME.log`. `close` stops them newest first, stops any embedded Redis
    under `work`, and kills (and names) whatever still mentions `work`."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self._started: list[subprocess.Popen[Any]] = []
        # A bench stopped by SIGTERM (`timeout`, a CI's cancel) unwinds like Ctrl-C, so its
        # `finally` closes these: Python's default would exit at once and leave every child
        # running (an edge left so once took a fifth of a core from the next test run).
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_term)

    def start(self, name: str, args: Sequence[str], **options: Any) -> "subprocess.Popen[Any]":
        with (self.work / f"{name}.log").open("ab") as log:
            options.setdefault("stdout", log)
            options.setdefault("stderr", subprocess.STDOUT)
            process = subprocess.Popen(list(args), start_new_session=True, **options)
        self._started.append(process)
        return process

    def quiet(self, args: Sequence[str], **options: Any) -> "subprocess.Popen[Any]":
        """A child whose output is not kept (a publisher)."""
        process = subprocess.Popen(list(args), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, **options)  # fmt: skip
        self._started.append(process)
        return process

    def stop(self, process: "subprocess.Popen[Any]", grace_s: float = 20.0) -> int:
        """SIGINT (servers shut down gracefully on it), then SIGKILL to its whole group."""
        return stop_process(process, first=signal.SIGINT, grace_s=grace_s, group=True)

    def close(self) -> None:
        for process in reversed(self._started):
            self.stop(process)
        for folder in self.work.rglob("redis"):
            if (folder / "url").exists():
                stop_embedded_redis(folder)
        for pid in leftovers(self.work):
            print(f"(killing pid {pid}, left behind: {_cmdline(pid)[:120]})", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> "Processes":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _exit_on_term(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def leftovers(work: Path) -> list[int]:
    """Processes (not this one) whose command line or environment names `work`."""
    mark = str(work).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if mark in (entry / "cmdline").read_bytes() or mark in (entry / "environ").read_bytes():
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return "?"


def wait_until(condition: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
    return value


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.TransportError:
        return False


def proc_cpu(pid: int) -> float:
    """utime + stime of a process and of its children it has waited for, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def start_hello_world(processes: Processes, workers: int) -> str:
    """The same server stack as the API (uvicorn, uvloop, httptools, `workers` processes)
    with nothing to do: its URL, once it answers."""
    port = free_port()
    processes.start("hello", [sys.executable, "-m", "uvicorn", "hello_asgi:app",
                              "--port", str(port), "--workers", str(workers),
                              "--no-access-log", "--backlog", "4096"],
                    cwd=Path(__file__).parent)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    wait_until(lambda: answers(url), 20, "the baseline server")
    return url
