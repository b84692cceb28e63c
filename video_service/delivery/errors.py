"""Errors of delivery (the API maps them to HTTP in its one place, `api/errors.py`).

DeliveryError          base
├── MediaNotFound      no such media here (yet)
└── AccessDenied       no token, a token that does not open this path, or a master asked
                       for outside a playback session
RangeRefused           a recorded range that cannot be played or exported as asked
NothingRecorded        nothing recorded in a range (or it is past retention)
ExportFailed           an export cannot be made on this node now

cdn.errors.TokenRejected (forged, expired, another stream's) and NoEligibleProvider, and
workers.base.errors.StorageUnavailable, reach the API as they are.
"""


class DeliveryError(Exception):
    pass


class MediaNotFound(DeliveryError):
    pass


class AccessDenied(DeliveryError):
    pass


class ExportFailed(Exception):
    """The export could not be made on this node now; the message says why."""


class RangeRefused(ValueError):
    """A range that cannot be played or exported as asked (the message says why)."""


class NothingRecorded(LookupError):
    """Nothing is recorded in the range (the message says whether it is past retention)."""
