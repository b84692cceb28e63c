"""Choose a CDN for a viewer: region, health, weight, stickiness.

Weighted rendezvous hashing: each eligible provider scores `weight / -ln(u)` with `u` drawn
from a hash of (viewer, provider), and the highest score wins. Over many viewers each
provider wins in proportion to its weight among the *eligible* set (renormalised, not the
raw weights), the same viewer gets the same answer while the set is unchanged, and removing
or ejecting one provider moves only the viewers it had.

Health: `failure_threshold` failures in a row eject a provider for `base_ejection_s`,
doubling with each further ejection up to `max_ejection_s`; a success clears the streak. If
every provider of a region is ejected, all of them are used again (and that is logged).
The clock is passed in.
"""

import hashlib
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdn.errors import NoEligibleProvider
from cdn.providers import Provider

log = logging.getLogger(__name__)


@dataclass
class _Health:
    failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0


class Selector:
    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        clock: Callable[[], float],
        failure_threshold: int = 3,
        base_ejection_s: float = 30.0,
        max_ejection_s: float = 600.0,
    ) -> None:
        self._providers = tuple(providers)
        self._clock = clock
        self._threshold = failure_threshold
        self._base_s = base_ejection_s
        self._max_s = max_ejection_s
        self._health = {provider.name: _Health() for provider in providers}

    @property
    def providers(self) -> tuple[Provider, ...]:
        return self._providers

    def eligible(self, region: str) -> list[Provider]:
        serving = [p for p in self._providers if p.serves(region)]
        if not serving:
            known = sorted({r for p in self._providers for r in p.regions})
            raise NoEligibleProvider(f"no CDN provider serves region {region!r} (known: {known})")
        healthy = [p for p in serving if not self.is_ejected(p.name)]
        if healthy:
            return healthy
        log.warning("every CDN provider for %s is ejected; using all of them again", region)
        return serving

    def choose(self, viewer: str | None, region: str, rng: random.Random | None = None) -> Provider:
        """The viewer's provider; an anonymous viewer gets a weighted draw from `rng`."""
        eligible = self.eligible(region)
        if viewer is None:
            draw = rng or random.Random()
            return draw.choices(eligible, weights=[p.weight for p in eligible])[0]
        return max(eligible, key=lambda provider: rendezvous_score(viewer, provider))

    def ranked(self, viewer: str, region: str) -> list[Provider]:
        """Every provider serving the region, the viewer's first and ejected ones last."""
        serving = [p for p in self._providers if p.serves(region)]
        chosen = self.choose(viewer, region)
        by_score = sorted(serving, key=lambda p: rendezvous_score(viewer, p), reverse=True)
        rest = [p for p in by_score if p != chosen]
        healthy = [p for p in rest if not self.is_ejected(p.name)]
        ejected = [p for p in rest if self.is_ejected(p.name)]
        return [chosen, *healthy, *ejected]

    def is_ejected(self, name: str) -> bool:
        return self._health[name].ejected_until > self._clock()

    def ejected_until(self, name: str) -> float:
        return self._health[name].ejected_until

    def ejection_state(self, name: str) -> tuple[float, int]:
        """(ejected until, ejections so far): what another process needs to agree with us."""
        health = self._health[name]
        return health.ejected_until, health.ejections

    def restore(self, name: str, ejected_until: float, ejections: int) -> None:
        """Take on the ejection another process decided (an unknown provider is ignored)."""
        health = self._health.get(name)
        if health is not None:
            health.ejected_until, health.ejections = ejected_until, ejections

    def report_failure(self, name: str) -> None:
        health = self._health[name]
        if self.is_ejected(name):
            return
        health.failures += 1
        if health.failures >= self._threshold:
            duration = min(self._base_s * 2**health.ejections, self._max_s)
            health.ejected_until = self._clock() + duration
            health.ejections += 1
            health.failures = 0
            log.warning("CDN %s ejected for %.0f s after repeated failures", name, duration)

    def report_success(self, name: str) -> None:
        self._health[name].failures = 0


def rendezvous_score(viewer: str, provider: Provider) -> float:
    digest = hashlib.sha256(f"{viewer}\x00{provider.name}".encode()).digest()
    # A uniform draw in (0, 1), never 0 or 1, from the first 8 bytes.
    unit = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    return provider.weight / -math.log(unit)
