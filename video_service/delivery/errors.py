"""Errors of delivery (the API maps them to HTTP in its one place, `api/errors.py`).

DeliveryError          base
├── MediaNotFound      no such media here (yet)
└── AccessDenied       no token, a token that does not open this path, or a master asked
                       for outside a playback session

cdn.errors.TokenRejected (forged, expired, another stream's) and NoEligibleProvider, and
workers.errors.StorageUnavailable, reach the API as they are.
"""


class DeliveryError(Exception):
    pass


class MediaNotFound(DeliveryError):
    pass


class AccessDenied(DeliveryError):
    pass
