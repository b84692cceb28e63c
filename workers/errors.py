"""Errors of the ladder engine and its workers.

    TranscodeError                 base: every failure the engine reports
    ├── BadInputError              the input is wrong; never retried
    │   ├── InputNotFound          missing path
    │   ├── InputNotAllowed        a protocol or a path outside the allowed roots
    │   ├── UnsupportedInput       not media, no video, empty, truncated
    │   └── BadOutputError         the output path cannot be used (a file, say)
    ├── TransientError             worth another attempt on any worker
    │   └── StorageUnavailable     the store cannot be reached now (connection, timeout, 5xx)
    ├── StorageRefused             the store answered no (access denied, no such bucket):
    │                              a configuration to fix, not a fault of the moment
    └── FFmpegFailed               FFmpeg exited non-zero; carries its stderr tail

A Celery task retries `TransientError` only; everything else fails at once with
the message, which says what was wrong.
"""


class TranscodeError(Exception):
    """Base of every error the engine raises on purpose."""


class BadInputError(TranscodeError):
    """The job cannot succeed as submitted."""


class InputNotFound(BadInputError):
    pass


class InputNotAllowed(BadInputError):
    pass


class UnsupportedInput(BadInputError):
    pass


class BadOutputError(BadInputError):
    pass


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
