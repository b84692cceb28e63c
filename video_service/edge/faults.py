"""The faults of the moment the edge's long-lived tasks outlast: Redis, the database or object
storage unreachable. A task that meets one logs it (once, until it works again, then says
so) and goes on; anything else is a bug, and the edge logs it with its traceback
(`log_unexpected`) rather than letting the task vanish."""

import asyncio
import logging

import redis
from sqlalchemy.exc import SQLAlchemyError

from workers.base.errors import StorageUnavailable

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (
    OSError,
    redis.RedisError,
    SQLAlchemyError,
    StorageUnavailable,
)


class Streak:
    """Say when something starts failing, and when it works again: not every time."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failing = False

    def failed(self, error: Exception) -> None:
        if not self._failing:
            log.warning("%s failed (%s: %s); going on, trying again", self._what,
                        type(error).__name__, error)  # fmt: skip
        self._failing = True

    def ok(self) -> None:
        if self._failing:
            log.info("%s works again", self._what)
        self._failing = False


def log_unexpected(task: "asyncio.Task[None]") -> None:
    """A done callback: a background task that ended on an exception says so, loudly."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the edge's task %s stopped on a bug", task.get_name(),
                  exc_info=task.exception())  # fmt: skip


class Backoff:
    """The wait between attempts to reach something that is down: 1, 2, 4 ... up to `most_s`
    seconds, and 1 again after an attempt that worked."""

    def __init__(self, most_s: float) -> None:
        self._most_s = most_s
        self._next_s = 1.0

    async def wait(self, worked: bool) -> None:
        if worked:
            self._next_s = 1.0
        await asyncio.sleep(self._next_s)
        self._next_s = min(self._next_s * 2, self._most_s)
