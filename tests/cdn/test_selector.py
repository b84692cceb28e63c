import logging
import random
from collections import Counter

import pytest
from pydantic import ValidationError

from cdn.errors import NoEligibleProvider
from cdn.providers import Provider, Scheme
from cdn.selector import Selector
from tests.cdn.example_providers import EXAMPLE_PROVIDERS


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def viewers(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"viewer-{rng.getrandbits(64):016x}" for _ in range(count)]


def shares(selector: Selector, region: str, people: list[str]) -> dict[str, float]:
    counts = Counter(selector.choose(v, region).name for v in people)
    return {name: count / len(people) for name, count in counts.items()}


def naive_choice(providers: tuple[Provider, ...], region: str, draw: float) -> str:
    """A loop over the raw weights that skips ineligible providers: what not to do."""
    total = 0.0
    fallback = ""
    for provider in providers:
        total += provider.weight
        if provider.serves(region):
            fallback = provider.name
            if draw < total:
                return provider.name
        # an ineligible provider's share falls through to the next eligible one
    return fallback


def test_asia_splits_75_25_over_the_eligible_weights() -> None:
    selector = Selector(EXAMPLE_PROVIDERS, clock=Clock())
    got = shares(selector, "asia", viewers(100_000))
    assert set(got) == {"fastly", "akamai"}
    assert got["fastly"] == pytest.approx(0.75, abs=0.01)
    assert got["akamai"] == pytest.approx(0.25, abs=0.01)


def test_a_loop_over_the_raw_weights_would_give_90_10() -> None:
    rng = random.Random(3)
    counts = Counter(naive_choice(EXAMPLE_PROVIDERS, "asia", rng.random()) for _ in range(100_000))
    assert counts["fastly"] / 100_000 == pytest.approx(0.90, abs=0.01)
    assert counts["akamai"] / 100_000 == pytest.approx(0.10, abs=0.01)


def test_us_and_eu_follow_the_renormalised_weights() -> None:
    selector = Selector(EXAMPLE_PROVIDERS, clock=Clock())
    us = shares(selector, "us", viewers(60_000))
    assert us["cloudfront"] == pytest.approx(0.6, abs=0.01)
    assert us["fastly"] == pytest.approx(0.3, abs=0.01)
    eu = shares(selector, "eu", viewers(60_000))
    assert eu["cloudfront"] == pytest.approx(6 / 7, abs=0.01)
    assert eu["akamai"] == pytest.approx(1 / 7, abs=0.01)


def test_a_viewer_sticks_and_removing_a_provider_moves_only_its_viewers() -> None:
    full = Selector(EXAMPLE_PROVIDERS, clock=Clock())
    people = viewers(20_000)
    before = {v: full.choose(v, "us").name for v in people}
    assert before == {v: full.choose(v, "us").name for v in people}
    without_fastly = Selector([p for p in EXAMPLE_PROVIDERS if p.name != "fastly"], clock=Clock())
    after = {v: without_fastly.choose(v, "us").name for v in people}
    moved = {v for v in people if before[v] != after[v]}
    assert moved == {v for v in people if before[v] == "fastly"}


def test_ejection_moves_only_that_providers_viewers_and_grows_each_time() -> None:
    clock = Clock()
    selector = Selector(EXAMPLE_PROVIDERS, clock=clock, failure_threshold=3, base_ejection_s=30)
    people = viewers(5_000)
    before = {v: selector.choose(v, "us").name for v in people}
    for _ in range(2):
        selector.report_failure("fastly")
    assert not selector.is_ejected("fastly"), "two failures are not yet repeated failure"
    selector.report_failure("fastly")
    assert selector.ejected_until("fastly") == clock.now + 30
    during = {v: selector.choose(v, "us").name for v in people}
    assert {v for v in people if before[v] != during[v]} == {
        v for v in people if before[v] == "fastly"
    }
    clock.now += 31
    assert {v: selector.choose(v, "us").name for v in people} == before, "viewers come back"
    for _ in range(3):
        selector.report_failure("fastly")
    assert selector.ejected_until("fastly") == clock.now + 60
    clock.now += 61
    selector.report_failure("fastly")
    selector.report_success("fastly")
    selector.report_failure("fastly")
    selector.report_failure("fastly")
    assert not selector.is_ejected("fastly"), "a success clears the streak"


def test_all_ejected_uses_all_again_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    selector = Selector(EXAMPLE_PROVIDERS, clock=Clock(), failure_threshold=1)
    selector.report_failure("fastly")
    selector.report_failure("akamai")
    with caplog.at_level(logging.WARNING, logger="cdn.selector"):
        chosen = selector.choose("viewer-1", "asia")
    assert chosen.name in ("fastly", "akamai")
    assert "every CDN provider for asia is ejected" in caplog.text


def test_no_provider_for_the_region_is_a_clear_error() -> None:
    selector = Selector([p for p in EXAMPLE_PROVIDERS if p.name != "akamai"], clock=Clock())
    with pytest.raises(NoEligibleProvider, match="no CDN provider serves region 'africa'"):
        selector.choose("viewer-1", "africa")


def test_ranked_puts_the_sticky_provider_first_and_ejected_ones_last() -> None:
    selector = Selector(EXAMPLE_PROVIDERS, clock=Clock(), failure_threshold=1)
    first = selector.choose("viewer-9", "us").name
    assert selector.ranked("viewer-9", "us")[0].name == first
    other = next(p.name for p in EXAMPLE_PROVIDERS if p.name != first and p.serves("us"))
    selector.report_failure(other)
    assert selector.ranked("viewer-9", "us")[-1].name == other


def test_anonymous_viewers_get_a_weighted_draw_from_the_given_source() -> None:
    selector = Selector(EXAMPLE_PROVIDERS, clock=Clock())
    rng = random.Random(11)
    counts = Counter(selector.choose(None, "asia", rng).name for _ in range(40_000))
    assert counts["fastly"] / 40_000 == pytest.approx(0.75, abs=0.015)


def test_a_health_url_that_is_not_http_is_refused_at_configuration() -> None:
    with pytest.raises(ValidationError, match="health_url must be an http"):
        Provider(name="x", weight=1, scheme=Scheme.FASTLY, base_url="https://x",
                 health_url="x.example/healthz")  # fmt: skip
    probed = Provider(name="x", weight=1, scheme=Scheme.FASTLY, base_url="https://x",
                      health_url="https://x/healthz")  # fmt: skip
    assert probed.health_url == "https://x/healthz"
