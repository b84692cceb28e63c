"""Child processes of the tests: each one started through `Children` (the `children`
fixture) is stopped and waited for when the test ends, whatever happened, so that none is
left running for the garbage collector to warn about in a later test."""

import os
import subprocess
from collections.abc import Sequence
from typing import Any

from workers.base.process import stop_process


class Children:
    def __init__(self) -> None:
        self._started: list[subprocess.Popen[Any]] = []

    def popen(self, args: Sequence[str], **options: Any) -> "subprocess.Popen[Any]":
        return self.adopt(subprocess.Popen(list(args), **options))

    def adopt(self, process: "subprocess.Popen[Any]") -> "subprocess.Popen[Any]":
        """Stop and wait for `process` when the test ends (if it has not by then)."""
        self._started.append(process)
        return process

    def stop_all(self, grace_s: float = 10.0) -> None:
        """Newest first (a publisher before the server it publishes to); a child started in
        its own session is stopped with its whole group."""
        for process in reversed(self._started):
            group = process.pid == _group_of(process.pid)
            stop_process(process, grace_s=grace_s, group=group)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        self._started.clear()


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
