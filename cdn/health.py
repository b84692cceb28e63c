"""CDN health from probes: each provider that names a health URL is fetched in turn, and what
came back is reported to the selector (failures in a row eject a provider for a growing
time; a success clears the streak). Pure: the fetch is passed in."""

from collections.abc import Awaitable, Callable

from cdn.selector import Selector

# A probe's answer: True when the provider answered (any status under 500).
Fetch = Callable[[str], Awaitable[bool]]


async def probe_providers(selector: Selector, fetch: Fetch) -> dict[str, bool]:
    """One round over the probed providers; returns each one's result."""
    results: dict[str, bool] = {}
    for provider in selector.providers:
        if provider.health_url is None:
            continue
        ok = await fetch(provider.health_url)
        if ok:
            selector.report_success(provider.name)
        else:
            selector.report_failure(provider.name)
        results[provider.name] = ok
    return results
