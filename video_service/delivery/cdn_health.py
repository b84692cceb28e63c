"""CDN health shared by every API process. One process at a time holds the prober's lease in
Redis: it probes the providers and publishes each one's ejection (until when, and how many
ejections so far, which sets the next one's length) to Redis; every other process applies
what is published on each round. So probes are not multiplied by the number of processes,
and a provider ejected is ejected for every viewer, whichever process answers them. When the
prober dies its lease lapses within three rounds and another takes over with the published
state. With Redis away, each process probes for itself until it is back."""

import asyncio
import json
import logging

import redis

from cdn.health import Fetch, probe_providers
from cdn.selector import Selector
from workers.base import redis_keys
from workers.base.leases import Lease

log = logging.getLogger(__name__)


class SharedHealth:
    def __init__(self, client: redis.Redis, selector: Selector, every_s: float) -> None:
        self._client = client
        self._selector = selector
        self._lease = Lease(client, redis_keys.CDN_PROBER, ttl_s=3 * every_s)
        self.leading: bool | None = None  # the last round's part: prober, follower, alone

    async def round(self, fetch: Fetch) -> dict[str, bool]:
        """One round: probe (as the prober, or alone while Redis is away), or take on what
        the prober published. Returns the probes' results (none for a follower)."""
        try:
            leading: bool | None = await asyncio.to_thread(self._lead)
        except redis.RedisError as error:
            log.warning("CDN health: Redis unavailable (%s); probing alone", error)
            leading = None
        self.leading = leading
        if leading is False:
            await asyncio.to_thread(self._apply)
            return {}
        results = await probe_providers(self._selector, fetch)
        if leading:
            try:
                await asyncio.to_thread(self._publish, list(results))
            except redis.RedisError as error:
                log.warning("CDN health not published: %s", error)
        return results

    def _lead(self) -> bool:
        return self._lease.renew() or self._lease.acquire()

    def _publish(self, names: list[str]) -> None:
        if not names:
            return
        states = {name: self._selector.ejection_state(name) for name in names}
        self._client.hset(redis_keys.CDN_HEALTH, mapping={
            name: json.dumps({"until": until, "ejections": count})
            for name, (until, count) in states.items()
        })  # fmt: skip

    def _apply(self) -> None:
        published: dict[bytes, bytes] = self._client.hgetall(redis_keys.CDN_HEALTH)  # type: ignore[assignment]
        for raw_name, raw in published.items():
            try:
                state = json.loads(raw)
                until, count = float(state["until"]), int(state["ejections"])
            except (ValueError, KeyError, TypeError):
                continue
            self._selector.restore(raw_name.decode(), until, count)
