"""Errors of the ladder engine, beside the base's (`workers.base.errors`):

TranscodeError (base)
├── BadInputError          the input is wrong; never retried
│   ├── InputNotFound      missing path
│   ├── InputNotAllowed    a protocol or a path outside the allowed roots
│   ├── UnsupportedInput   not media, no video, empty, truncated
│   └── BadOutputError     the output path cannot be used (a file, say)
└── SourceLate             a live segment's source did not reach storage by its deadline
"""

from workers.base.errors import TranscodeError


class SourceLate(TranscodeError):
    """The source segment did not reach storage before the job's deadline."""


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
