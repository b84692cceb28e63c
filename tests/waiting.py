"""Waiting in tests on a condition, never for a fixed time.

`eventually` polls until a condition holds and gives back what it returned; `settles` until
a value has stayed as expected for a while; `holds` polls that a condition stays true for a
while (a negative: "nothing more is recorded"), failing at the first moment it does not.
"""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    condition: Callable[[], T], timeout: float = 15.0, *, every: float = 0.1, what: str = ""
) -> T:
    """The first truthy value of `condition()`, polled every `every` s; fails after
    `timeout` s, saying `what` was awaited (or the condition's name)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(condition, "__name__", "the condition")
            raise AssertionError(f"timed out after {timeout:g} s waiting for {name}")
        time.sleep(every)


def holds(
    condition: Callable[[], object], seconds: float, *, every: float = 0.1, what: str = ""
) -> None:
    """`condition()` is true now and at every look for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if not condition():
            name = what or getattr(condition, "__name__", "the condition")
            raise AssertionError(f"{name} stopped holding")
        if time.monotonic() >= deadline:
            return
        time.sleep(every)


def settles(value: Callable[[], object], expected: object, timeout: float, *, for_s: float) -> None:
    """Wait until `value()` has been `expected` for `for_s` seconds on end."""
    since: list[float] = []

    def steady() -> bool:
        if value() != expected:
            since.clear()
            return False
        since[:] = since or [time.monotonic()]
        return time.monotonic() - since[0] >= for_s

    eventually(steady, timeout, what=f"{expected!r} for {for_s:g} s")
