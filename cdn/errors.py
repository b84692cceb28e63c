"""Errors of the CDN room.

CdnError                 base
├── NoEligibleProvider   no configured provider serves the viewer's region
├── SigningError         a provider's keys are missing or unusable
└── TokenRejected        an origin token is forged, expired, or for another stream
"""


class CdnError(Exception):
    pass


class NoEligibleProvider(CdnError):
    pass


class SigningError(CdnError):
    pass


class TokenRejected(CdnError):
    pass
