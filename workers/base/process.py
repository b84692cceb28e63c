"""Run FFmpeg and ffprobe: the one place that starts processes, for the workers (blocking
calls in their threads) and the edge (long-lived recorders on its event loop).

A timeout terminates then kills; stderr's tail is kept for the error; progress comes from
`-progress pipe:1`. Children die with their parent (PR_SET_PDEATHSIG), so a worker or an
edge killed with SIGKILL leaves no FFmpeg writing behind it.
"""

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workers.base.errors import FFmpegFailed
from workers.base.progress import Progress, parse_progress

_PR_SET_PDEATHSIG = 1
_TAIL_LINES = 40
_KILL_GRACE_S = 5.0


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr_tail: str


def die_with_parent() -> None:
    """In a child before exec: be killed when the parent dies (Linux PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(args: Sequence[str]) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=die_with_parent,
    )


def stop_process(
    process: "subprocess.Popen[Any]",
    *,
    grace_s: float = _KILL_GRACE_S,
    first: signal.Signals = signal.SIGTERM,
    group: bool = False,
) -> int:
    """Ask a child to stop (`first`: SIGTERM, or SIGINT for a graceful shutdown), give it
    `grace_s`, then SIGKILL it, and always wait for it: its exit status. `group`: signal its
    whole process group (a child started with `start_new_session`, and what it started)."""
    if process.poll() is None:
        _signal(process, first, group)
        try:
            return process.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    if group or process.poll() is None:  # a group's other members may outlive its leader
        _signal(process, signal.SIGKILL, group)
    return process.wait()


def _signal(process: "subprocess.Popen[Any]", sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)


def _collect_tail(stream: IO[str], tail: "deque[str]") -> None:
    for line in stream:
        tail.append(line.rstrip("\n"))


def run_capture(args: Sequence[str], timeout_s: float) -> Completed:
    """Run a short command (ffprobe, a capability probe) and return its output."""
    process = _start(args)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop_process(process)
        return Completed(-1, "", f"timed out after {timeout_s:.0f} s")
    finally:
        stop_process(process)
    tail = "\n".join(stderr.splitlines()[-_TAIL_LINES:])
    return Completed(process.returncode, stdout, tail)


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout_s: float,
    on_progress: Callable[[Progress], None] | None = None,
    what: str = "FFmpeg",
) -> Completed:
    """Run FFmpeg with `-progress pipe:1`; raise FFmpegFailed on a non-zero exit or timeout."""
    process = _start(args)
    assert process.stdout is not None and process.stderr is not None
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    reader = threading.Thread(target=_collect_tail, args=(process.stderr, tail), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    timer = threading.Timer(timeout_s, stop_process, args=(process,))
    timer.daemon = True
    timer.start()
    try:
        for progress in parse_progress(process.stdout):
            if on_progress is not None:
                on_progress(progress)
        returncode = process.wait()
    finally:
        timer.cancel()
        stop_process(process)
        reader.join(timeout=2)
        process.stdout.close()
        process.stderr.close()
    stderr_tail = "\n".join(tail)
    if time.monotonic() >= deadline and returncode != 0:
        raise FFmpegFailed(f"{what} timed out after {timeout_s:.0f} s", returncode, stderr_tail)
    if returncode != 0:
        raise FFmpegFailed(f"{what} failed", returncode, stderr_tail)
    return Completed(returncode, "", stderr_tail)


async def start_child(
    args: Sequence[str], *, log: Path | None = None
) -> asyncio.subprocess.Process:
    """A long-lived child on the running event loop (the edge's recorders): stderr appended
    to `log`, or discarded; it dies with its parent."""
    with contextlib.ExitStack() as files:
        sink = files.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        return await asyncio.create_subprocess_exec(
            *args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            preexec_fn=die_with_parent,
        )


async def stop_child(
    process: asyncio.subprocess.Process, *, wait_s: float = 0.0, grace_s: float = _KILL_GRACE_S
) -> int:
    """Let the child exit by itself for `wait_s` (FFmpeg closing its last segment), then
    terminate it, then kill it if it is still there after `grace_s`; its exit status."""
    for step in (None, process.terminate, process.kill):
        if process.returncode is not None:
            break
        if step is not None:
            with contextlib.suppress(ProcessLookupError):
                step()
        limit = wait_s if step is None else grace_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), limit)
    return await process.wait()
