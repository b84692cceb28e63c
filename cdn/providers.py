"""CDN providers as configured: a weight, regions, a signing scheme, a base URL, its keys."""

from enum import StrEnum

from pydantic import BaseModel, Field, SecretStr, field_validator

GLOBAL = "global"


class Scheme(StrEnum):
    CLOUDFRONT = "cloudfront"
    AKAMAI = "akamai"
    FASTLY = "fastly"
    ORIGIN = "origin"


class Provider(BaseModel, frozen=True):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    weight: float = Field(gt=0)
    regions: tuple[str, ...] = (GLOBAL,)
    scheme: Scheme
    base_url: str
    # CloudFront: the key pair id and the PEM private key. Akamai: the hex key.
    # Fastly: the base64 key. Origin: any secret string.
    key_id: str | None = None
    secret: SecretStr | None = None
    token_name: str = "hdnts"
    # Probed for health when set (an object the CDN serves, e.g. `{base_url}/healthz`):
    # an answer under 500 is a success, an error status, a timeout or a refused connection
    # a failure; repeated failures eject the provider from selection for a while.
    health_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("health_url")
    @classmethod
    def _http_health_url(cls, url: str | None) -> str | None:
        # A typo here would otherwise read as a CDN that never answers, and eject it.
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"health_url must be an http(s) URL, not {url!r}")
        return url

    def serves(self, region: str) -> bool:
        return GLOBAL in self.regions or region in self.regions
