"""Errors of the shared base. The engine's own (bad input) subclass `TranscodeError` in
`workers.engine.errors`.

    TranscodeError                 base: every failure a job reports
    ├── TransientError             worth another attempt on any worker
    │   └── StorageUnavailable     the store cannot be reached now (connection, timeout, 5xx)
    ├── StorageRefused             the store answered no (access denied, no such bucket):
    │                              a configuration to fix, not a fault of the moment
    └── FFmpegFailed               FFmpeg exited non-zero; carries its stderr tail
    BadMediaPath                   a media path or key outside the layout (`..`, a stray name)
    SecretsUnreadable              a sealed secret the configured key cannot open
    EmbeddedRedisError             the embedded Redis server did not start

A Celery task retries `TransientError` only; everything else fails at once with the message,
which says what was wrong.
"""


class TranscodeError(Exception):
    """Base of every error the engine raises on purpose."""


class TransientError(TranscodeError):
    """A fault of the moment: another attempt may succeed."""


class StorageUnavailable(TransientError):
    pass


class StorageRefused(TranscodeError):
    pass


class FFmpegFailed(TranscodeError):
    def __init__(self, message: str, returncode: int, stderr_tail: str) -> None:
        super().__init__(message, returncode, stderr_tail)
        self.message = message
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        tail = self.stderr_tail.strip().splitlines()[-3:]
        return f"{self.message} (exit {self.returncode}): " + " | ".join(tail)


class SecretsUnreadable(Exception):
    """A secret this key cannot open: the key changed, or the value was tampered with."""


class EmbeddedRedisError(RuntimeError):
    pass


class BadMediaPath(ValueError):
    """A requested path that names no media we could hold."""
