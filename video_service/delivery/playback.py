"""Delivery for the control plane: the CDN providers (the origin alone by default), the
selector, one signer per provider, the store the origin serves from, and what a playback
request or the origin needs of them.

Paths handed to signers are URL paths of the media (`/live/{camera}/...`, see
`workers.base.layout`); a provider's base URL maps onto the media root (the origin's is
`{public_url}/media`).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import redis
from starlette.concurrency import run_in_threadpool

from cdn.health import probe_providers
from cdn.providers import GLOBAL, Provider, Scheme
from cdn.rewrite import RewriteCache
from cdn.selector import Selector
from cdn.signing import OriginSigner, StreamGrant, UrlSigner, build_signer, grant_for
from video_service.delivery.cdn_health import SharedHealth
from video_service.delivery.metrics import cdn_metrics
from video_service.delivery.recorded_ranges import TimeRange, require_recorded, vod_key
from video_service.delivery.settings import DeliverySettings
from video_service.shared.ownership import owner_of
from video_service.shared.recording_index import Recorded, RecordingIndex
from video_service.shared.streams import sub_stream_id
from video_service.shared.ttl_cache import TtlCache
from workers.base.errors import StorageUnavailable
from workers.base.layout import (
    MASTER_PLAYLIST,
    SOURCE,
    MediaLayout,
    playlist_key,
    stream_prefix,
    whep_path,
)
from workers.base.secrets import origin_secret
from workers.base.storage import Storage, open_storage
from workers.engine.master import read_planned_master

ORIGIN = "origin"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Playback:
    url: str
    cdn: str
    expires_at: int
    webrtc: str | None = None  # live view over WHEP from the camera's edge, where offered
    webrtc_sub: str | None = None  # the same of its sub-stream, while one is live


class Delivery:
    def __init__(
        self,
        settings: DeliverySettings,
        *,
        recordings: RecordingIndex | None = None,
        redis_client: redis.Redis | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`recordings`: the recording index recorded playback finds segments in (None:
        nothing recorded is found). `redis_client`: shared state, the edges' planned masters
        (None without live services)."""
        self.settings = settings
        self.clock = clock
        self.origin_signer = OriginSigner(origin_secret(settings))
        providers = settings.cdn_providers or (self.origin_provider(),)
        self.selector = Selector(
            providers,
            clock=clock,
            failure_threshold=settings.cdn_failure_threshold,
            base_ejection_s=settings.cdn_ejection_s,
            max_ejection_s=settings.cdn_ejection_max_s,
        )
        metrics = cdn_metrics()
        for provider in providers:  # each provider's series exists from the start, at 0
            metrics.ejections.labels(provider.name)
            metrics.probe_failures.labels(provider.name)
        self.signers: dict[str, UrlSigner] = {
            p.name: self.origin_signer if p.scheme is Scheme.ORIGIN else build_signer(p)
            for p in providers
        }
        self.cache = RewriteCache()
        self._recorded: TtlCache[float | None] = TtlCache(ttl_s=1.0)
        self._owners: TtlCache[str | None] = TtlCache(ttl_s=1.0)
        # What the origin serves: the bucket when one is configured, else the media root.
        self.storage: Storage = open_storage(
            settings.s3_bucket, settings.s3_endpoint_url, settings.media_root
        )
        # This machine's own media root (the recording, where the edge shares the machine).
        self.layout = MediaLayout(settings.media_root)
        self.shared_health: SharedHealth | None = None  # while watch_health runs with Redis
        self.recordings = recordings
        self.redis = redis_client

    def origin_provider(self) -> Provider:
        return Provider(
            name=ORIGIN,
            weight=1.0,
            regions=(GLOBAL,),
            scheme=Scheme.ORIGIN,
            base_url=f"{self.settings.public_url}/media",
        )

    def grant(self, camera_id: str) -> StreamGrant:
        return grant_for(
            stream_prefix(camera_id),
            now=self.clock(),
            ttl_s=self.settings.token_ttl_s,
            window_s=self.settings.token_window_s,
        )

    @property
    def probed(self) -> bool:
        return any(p.health_url for p in self.selector.providers)

    async def watch_health(self, shared: redis.Redis | None = None) -> None:
        """Probe the providers that name a health URL, for as long as the app runs; with
        `shared` (Redis), one process probes for all and the rest take on what it found
        (cdn_health.py)."""
        timeout = self.settings.cdn_probe_timeout_s
        every_s = self.settings.cdn_probe_every_s
        health = SharedHealth(shared, self.selector, every_s) if shared is not None else None
        self.shared_health = health
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:

            async def fetch(url: str) -> bool:
                try:
                    return (await client.get(url)).status_code < 500
                except Exception:  # any failure to get an answer is a failed probe
                    # (not only httpx's errors: a connection torn down mid-request has
                    # raised AttributeError from deep in the transport, and killed this loop)
                    return False

            metrics = cdn_metrics()
            while True:
                before = {
                    p.name for p in self.selector.providers if self.selector.is_ejected(p.name)
                }
                if health is not None:
                    results = await health.round(fetch)
                else:
                    results = await probe_providers(self.selector, fetch)
                for name, ok in results.items():
                    if not ok:
                        log.info("CDN %s failed its health probe", name)
                        metrics.probe_failures.labels(name).inc()
                        if name not in before and self.selector.is_ejected(name):
                            metrics.ejections.labels(name).inc()
                await asyncio.sleep(every_s)

    async def last_recorded(self, camera_id: str) -> float | None:
        """`recorded_at`, looked up at most once a second per camera (every playback
        request asks), in a worker thread (it may ask object storage)."""
        return await self._recorded.get(
            camera_id, lambda: run_in_threadpool(self.recorded_at, camera_id)
        )

    def recorded_at(self, camera_id: str) -> float | None:
        """When the camera's recording playlist was last written, in the store."""
        try:
            found = self.storage.stat(playlist_key(camera_id, SOURCE))
        except StorageUnavailable:
            return None
        return None if found is None else found.modified_at

    def playback(
        self,
        camera_id: str,
        viewer: str,
        region: str,
        session_id: str | None,
        provider: Provider,
        whep_base: str | None = None,
        sub_base: str | None = None,
    ) -> Playback:
        """The signed master URL on `provider`, the one the selector chose for `viewer`
        (`session_id` None: no viewer session, as for a WebRTC-only viewer); live view from
        `whep_base` (the owning edge's), else `SPARC_WHEP_URL`; the sub-stream's from
        `sub_base` (None: no sub-stream is live)."""
        grant = self.grant(camera_id)
        path = f"{grant.prefix}{MASTER_PLAYLIST}"
        query = self.signers[provider.name].query(path, grant)
        session = f"session={session_id}&" if session_id is not None else ""
        extra = f"{session}region={region}&viewer={viewer}"
        url = f"{provider.base_url}{path}?{query}&{extra}"
        webrtc = self.webrtc_url(camera_id, grant, whep_base)
        sub = self.webrtc_url(camera_id, grant, sub_base, sub=True) if sub_base else None
        return Playback(url, provider.name, grant.expires, webrtc, sub)

    def webrtc_url(
        self, camera_id: str, grant: StreamGrant, whep_base: str | None = None, sub: bool = False
    ) -> str | None:
        """The camera's WHEP endpoint (of its sub-stream: `sub`), with a token for it alone
        that ends with the HLS grant; None where no edge offers live view."""
        base = whep_base or self.settings.whep_url
        if base is None:
            return None
        path = whep_path(camera_id, sub)
        token = self.origin_signer.token(StreamGrant(path, grant.expires))
        return f"{base}{path}?token={token}"

    async def live_view_base(self, client: redis.Redis, camera_id: str) -> str | None:
        """Where the edge that owns the camera serves live view (its lease says), looked up
        at most once a second per camera; None: no owner says (then `SPARC_WHEP_URL`)."""

        def lookup() -> str | None:
            with contextlib.suppress(redis.RedisError):
                owner = owner_of(client, camera_id)
                return owner.whep_url if owner is not None else None
            return None

        return await self._owners.get(camera_id, lambda: run_in_threadpool(lookup))

    async def sub_stream_base(self, client: redis.Redis, camera_id: str) -> str | None:
        """Where the camera's sub-stream is served live (its edge's live view, else
        `SPARC_WHEP_URL`), looked up at most once a second; None while none is live."""
        stream_id = sub_stream_id(camera_id)

        def lookup() -> str | None:
            with contextlib.suppress(redis.RedisError):
                owner = owner_of(client, stream_id)
                return None if owner is None else owner.whep_url or self.settings.whep_url
            return None

        return await self._owners.get(stream_id, lambda: run_in_threadpool(lookup))

    def planned_master(self, camera_id: str) -> str | None:
        """The master the camera's edge planned when it started recording (before any
        worker wrote one); None when none is known. Blocks (Redis)."""
        if self.redis is None:
            return None
        with contextlib.suppress(redis.RedisError):
            return read_planned_master(self.redis, camera_id)
        return None

    def recorded(self, camera_id: str, wanted: TimeRange) -> list[Recorded]:
        """The camera's recorded segments in `wanted`, in order; NothingRecorded (saying
        whether the range is past retention) if there are none. Blocks (the database)."""
        found = self.recordings.find(camera_id, wanted.start, wanted.end) if self.recordings else []
        require_recorded(
            found, wanted, now=self.clock(), retention_s=self.settings.recording_retention_s
        )
        return found

    def recorded_playback(
        self, camera_id: str, wanted: TimeRange, viewer: str, provider: Provider
    ) -> Playback:
        """The signed URL of the recording's VOD playlist for `wanted`, on `provider`."""
        grant = self.grant(camera_id)
        path = "/" + vod_key(camera_id, wanted)
        query = self.signers[provider.name].query(path, grant)
        return Playback(f"{provider.base_url}{path}?{query}&viewer={viewer}", provider.name,
                        grant.expires)  # fmt: skip
