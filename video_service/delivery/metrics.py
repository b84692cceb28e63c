"""Delivery's metrics: the CDN providers' ejections and failed health probes (exported by the
API process that delivers)."""

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter


@dataclass(frozen=True)
class CdnMetrics:
    ejections: Counter
    probe_failures: Counter


@cache
def cdn_metrics() -> CdnMetrics:
    return CdnMetrics(
        Counter("sparc_cdn_ejections", "CDN providers ejected from selection.", ["provider"]),
        Counter("sparc_cdn_probe_failures", "Failed CDN health probes.", ["provider"]),
    )
