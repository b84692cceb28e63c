"""A Redis cache of the list routes' answers (`GET /api/sites`, `/api/cameras`,
`/api/events`), shared by every API process and node.

An entry is keyed by the caller's scope (admin, or the set of sites a viewer key may see),
the path and the query, and holds the answer in each encoding (`compression.variants`). Each
route has a tag; a write bumps its tag's generation (`Invalidator`), and only entries of the
current generation are served, so a camera created is listed on the very next request, from
any node. A reader looks up the generation and the entry in one round trip, before it
queries the database, so an answer built from older rows can never be stored as current.
Entries also expire after `ttl_s`, which bounds staleness should Redis lose a bump.

Answers carry `X-Cache: HIT` or `MISS`. Any Redis fault is logged and the request served
from the database as if there were no cache.
"""

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from video_service.api.auth import Principal
from video_service.api.compression import IDENTITY, choose_encoding, variants
from video_service.delivery.batching import GroupedCalls
from workers.base import redis_keys

log = logging.getLogger(__name__)
PrincipalOf = Callable[[str], Awaitable[Principal | None]]

TAGS: Mapping[str, str] = {
    "/api/sites": "sites",
    "/api/cameras": "cameras",
    "/api/events": "events",
}
_LOOKUP = """
local gen = redis.call('GET', KEYS[1]) or '0'
local body = redis.call('HGET', KEYS[2], gen .. ':' .. ARGV[1])
local encoding = ARGV[1]
if not body and encoding ~= 'identity' then
  body = redis.call('HGET', KEYS[2], gen .. ':identity')
  encoding = 'identity'
end
return {gen, body or false, encoding}
"""


def scope_key(principal: Principal) -> str:
    if principal.is_admin:
        return "admin"
    sites = ",".join(sorted(principal.site_ids))
    return "sites-" + hashlib.blake2b(sites.encode(), digest_size=12).hexdigest()


def entry_key(tag: str, scope: str, path: str, query: bytes) -> str:
    """The query as sent, in its order: the routes read a repeated parameter's last value,
    so `?type=a&type=b` and `?type=b&type=a` are different questions."""
    digest = hashlib.blake2b(query, digest_size=16).hexdigest()
    return redis_keys.http_response(tag, scope, path, digest)


class Invalidator:
    """Bump the generation of tags after a write has committed (sync: routes run in
    threads, and the edge writes events from threads)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def invalidate(self, *tags: str) -> None:
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for tag in tags:
                    pipe.incr(redis_keys.http_generation(tag))
                pipe.execute()
        except redis.RedisError as error:
            log.warning("could not invalidate cached %s (%s): served stale up to the TTL",
                        ", ".join(tags), error)  # fmt: skip


@dataclass(frozen=True)
class Cached:
    generation: bytes
    body: bytes | None
    encoding: str


class ResponseCache:
    """Look-ups are grouped (`GroupedCalls`): those that arrive while a pipeline is in flight
    go in the next, so that under load a look-up costs a sixth of a round trip of its own."""

    def __init__(self, client: aioredis.Redis, ttl_s: float = 60.0) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._script = client.register_script(_LOOKUP)
        self._lookups: GroupedCalls[tuple[str, str, str], Cached] = GroupedCalls(self._look_up)

    async def close(self) -> None:
        await self._client.aclose()

    async def lookup(self, tag: str, key: str, encoding: str) -> Cached | None:
        """The current generation and, if there is one of it, the entry; None on a fault."""
        try:
            return await self._lookups.call((tag, key, encoding))
        except redis.RedisError as error:
            log.warning("response cache unavailable (%s): answering from the database", error)
            return None

    async def _look_up(self, batch: Sequence[tuple[str, str, str]]) -> list[Cached]:
        try:
            found = await self._pipeline(batch)
        except NoScriptError:  # Redis restarted and forgot the script: load it again
            await self._client.script_load(_LOOKUP)
            found = await self._pipeline(batch)
        return [Cached(gen, body or None, _text(encoding)) for gen, body, encoding in found]

    async def _pipeline(self, batch: Sequence[tuple[str, str, str]]) -> list[list[bytes]]:
        async with self._client.pipeline(transaction=False) as pipe:
            for tag, key, encoding in batch:
                pipe.evalsha(self._script.sha, 2, redis_keys.http_generation(tag), key, encoding)
            found: list[list[bytes]] = await pipe.execute()
        return found

    async def store(self, key: str, generation: bytes, answer: Mapping[str, bytes]) -> None:
        fields = {f"{generation.decode()}:{encoding}": body for encoding, body in answer.items()}
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                pipe.pexpire(key, int(self._ttl_s * 1000))
                await pipe.execute()
        except redis.RedisError as error:
            log.warning("could not cache %s: %s", key, error)


class CachedRoutes:
    """ASGI: serve the list routes' GETs from the cache, and fill it on a miss from `app`
    (the API without compression: the cache compresses each variant once)."""

    def __init__(self, cache: ResponseCache, app: ASGIApp, principal_of: PrincipalOf) -> None:
        self.cache = cache
        self.app = app
        self.principal_of = principal_of
        # One fill per entry at a time in this process: the requests that miss while it is
        # filled wait for it (after a write, thousands in flight would each query at once).
        self._filling: dict[str, asyncio.Future[Mapping[str, bytes]]] = {}

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """True when it answered; False to let the request go the usual way (no key, a
        key we do not know: the API says why)."""
        tag = TAGS.get(scope["path"])
        if tag is None or scope["method"] != "GET":
            return False
        headers = Headers(scope=scope)
        principal = await self.principal_of(headers.get("authorization", ""))
        if principal is None:
            return False
        key = entry_key(tag, scope_key(principal), scope["path"], scope["query_string"])
        wanted = choose_encoding(headers.get("accept-encoding", ""))
        found = await self.cache.lookup(tag, key, wanted)
        if found is not None and found.body is not None:
            await _answer(send, 200, [], found.body, found.encoding, "HIT")
            return True
        if found is None:  # Redis away: straight to the database
            return await self._pass(scope, receive, send)
        fill_key = f"{key}:{found.generation!r}"
        filling = self._filling.get(fill_key)
        if filling is not None:  # another request of this process is filling it: wait
            await asyncio.wait([filling])
            if filling.cancelled():  # it was no 200: ask for ours
                return await self._pass(scope, receive, send)
            await _answer_variants(send, filling.result(), wanted)
            return True
        filling = self._filling[fill_key] = asyncio.get_running_loop().create_future()
        try:
            status, raw_headers, body = await self._fetch(scope, receive)
            if status == 200:
                filling.set_result(variants(body))
        finally:
            del self._filling[fill_key]
            if not filling.done():
                filling.cancel()
        if filling.cancelled():
            await _answer(send, status, raw_headers, body, IDENTITY, "MISS")
            return True
        await self.cache.store(key, found.generation, filling.result())
        await _answer_variants(send, filling.result(), wanted)
        return True

    async def _pass(self, scope: Scope, receive: Receive, send: Send) -> bool:
        status, raw_headers, body = await self._fetch(scope, receive)
        await _answer(send, status, raw_headers, body, IDENTITY, "MISS")
        return True

    async def _fetch(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The API's own answer, uncompressed."""
        plain = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        started: dict[str, Message] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["start"] = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app({**scope, "headers": plain}, receive, capture)
        start = started["start"]
        return int(start["status"]), list(start.get("headers", [])), b"".join(chunks)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _answer_variants(send: Send, answer: Mapping[str, bytes], wanted: str) -> None:
    encoding = wanted if wanted in answer else IDENTITY
    await _answer(send, 200, [], answer[encoding], encoding, "MISS")


async def _answer(
    send: Send,
    status: int,
    raw_headers: list[tuple[bytes, bytes]],
    body: bytes,
    encoding: str,
    cache: str,
) -> None:
    headers = MutableHeaders(raw=[(k, v) for k, v in raw_headers if k != b"content-length"])
    headers.setdefault("content-type", "application/json")
    if encoding != IDENTITY:
        headers["content-encoding"] = encoding
    headers.add_vary_header("Accept-Encoding")
    headers["content-length"] = str(len(body))
    headers["x-cache"] = cache
    await send({"type": "http.response.start", "status": status, "headers": headers.raw})
    await send({"type": "http.response.body", "body": body})
