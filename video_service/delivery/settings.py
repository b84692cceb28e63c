"""Delivery's settings: where players reach the origin, the CDN providers, tokens, steering
and CDN health probes. Read once per process from the environment (SPARC_*)."""

from pydantic import Field

from cdn.providers import Provider
from workers.base.settings import Settings


class DeliverySettings(Settings):
    # Where players reach this API and its origin (/media).
    public_url: str = "http://127.0.0.1:8080"
    # Where viewers reach the edges' live view (WHEP), e.g. http://edge.example:8889; unset:
    # no live view over WebRTC is offered, HLS only.
    whep_url: str | None = None
    # JSON list of providers; none: the origin alone, verifying its own tokens.
    cdn_providers: tuple[Provider, ...] = ()
    token_ttl_s: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    token_window_s: int = Field(default=300, gt=0, le=24 * 3600)
    steering_ttl_s: int = Field(default=10, gt=0, le=3600)
    # CDN health: providers with a health_url are probed this often; this many failures in
    # a row eject one for cdn_ejection_s, doubling with each ejection up to the max.
    cdn_probe_every_s: float = Field(default=5.0, gt=0)
    cdn_probe_timeout_s: float = Field(default=2.0, gt=0)
    cdn_failure_threshold: int = Field(default=3, gt=0)
    cdn_ejection_s: float = Field(default=30.0, gt=0)
    cdn_ejection_max_s: float = Field(default=600.0, gt=0)
