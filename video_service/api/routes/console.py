"""The console (`video_service/console/`, built by Vite into `dist/`): its page for each of
its routes (the app routes in the browser), its hashed assets, its service worker.

Every page is served with a strict Content-Security-Policy: scripts and styles from here
only (no inline ones), and `connect-src`/`media-src` naming exactly this API, the live
edges' live-view URLs (`video_service.shared.edges`, looked up at most every few seconds)
and the CDN providers configured. An edge that joins after a page loaded is reached on the
page's next load (until then its tiles fall back to HLS)."""

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from video_service.api.errors import NotFound, ServiceUnavailable
from video_service.api.state import ApiState, api_state
from video_service.shared.edges import live_view_urls
from video_service.shared.ttl_cache import TtlCache

router = APIRouter(tags=["console"], include_in_schema=False)
CONSOLE = Path(__file__).resolve().parents[2] / "console" / "dist"
ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
EDGES_LOOKED_UP_S = 5.0
_edges: TtlCache[list[str]] = TtlCache(EDGES_LOOKED_UP_S)
PAGES = ("/", "/sign-in", "/wall", "/events", "/admin", "/ops")


def origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


async def content_security_policy(state: ApiState) -> str:
    edges = list(filter(None, map(origin, await _live_view_urls(state))))
    if state.settings.whep_url and (configured := origin(state.settings.whep_url)):
        edges.append(configured)
    cdns = [found for p in state.delivery.selector.providers if (found := origin(p.base_url))]
    connect = " ".join(sorted({"'self'", *edges, *cdns}))
    media = " ".join(sorted({"'self'", "blob:", *cdns}))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' blob: data:; font-src 'self'; "
        f"connect-src {connect}; media-src {media}; worker-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def _live_view_urls(state: ApiState) -> list[str]:
    live = state.live
    if live is None:
        return []

    async def look() -> list[str]:
        try:
            return await run_in_threadpool(live_view_urls, live.redis, time.time())
        except redis.RedisError:
            return []

    return await _edges.get("edges", look)


def _built(name: str) -> Path:
    path = CONSOLE / name
    if not path.is_file():
        raise ServiceUnavailable(
            "the console is not built: run `npm ci && npm run build` in video_service/console "
            "(.ci/setup does)"
        )
    return path


async def page(request: Request) -> Response:
    """The console's page: its script routes in the browser."""
    policy = await content_security_policy(api_state(request))
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return FileResponse(_built("index.html"), headers=headers, media_type="text/html")


for path in PAGES:
    router.add_api_route(path, page, methods=["GET"])


@router.get("/cameras/{camera_id}")
async def camera_page(request: Request) -> Response:
    return await page(request)


@router.get("/assets/{name}")
def asset(name: str) -> FileResponse:
    """A built asset: its name carries its hash, so it is kept for a year."""
    if not ASSET.match(name) or ".." in name:
        raise NotFound(f"no asset {name[:64]}")
    path = CONSOLE / "assets" / name
    if not path.is_file():
        raise NotFound(f"no asset {name[:64]}")
    headers = {"Cache-Control": "public, max-age=31536000, immutable",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    return FileResponse(path, headers=headers)


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The console's service worker (the app shell, offline): always checked anew."""
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return FileResponse(_built("sw.js"), headers=headers, media_type="text/javascript")
