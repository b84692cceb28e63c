"""The embedded origin: serves the media to players that carry the origin's token, from the
local media root or, when object storage is configured, from the bucket (so an API node
needs no copy of the media: what the workers and the edge uploaded is what plays).

A playlist is served with a token on every URI it names (relative URIs drop the query
string, so the one on the playlist URL would not reach its segments); the master is served
as a steered master (each rung once per provider, EXT-X-CONTENT-STEERING pointing at the
steering server with the viewer's session). Segments are immutable and cached long,
playlists for a second. A forged, expired or other-stream token gets 403.

It is a plain ASGI app that `app.HotPaths` hands `/media/...` before the API sees it:
every player polls its playlist every few seconds, so this path skips FastAPI's routing
and validation, and a poll of an unchanged playlist costs a token check, a stat and a
dictionary look-up.
"""

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from cdn.errors import NoEligibleProvider, TokenRejected
from cdn.rewrite import rewrite_playlist
from cdn.signing import StreamGrant
from cdn.steering import build_steered_master
from video_service.delivery import Delivery
from video_service.errors import (
    ApiError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    error_response,
)
from workers.errors import StorageUnavailable
from workers.playlists import build_master_playlist, describe_rendition
from workers.storage import SEGMENT_CACHE, Storage

SEGMENT_HEADERS = {"Cache-Control": SEGMENT_CACHE}
PLAYLIST_HEADERS = {"Cache-Control": "private, max-age=1"}
HLS = "application/vnd.apple.mpegurl"
MAX_QUERY = 2048


class Origin:
    """ASGI app: GET/HEAD /media/{path}?token=...[&session=&viewer=&region=]."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.root = delivery.settings.resolved_media_root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        response: Response
        if scope["method"] not in ("GET", "HEAD"):
            response = JSONResponse({"detail": "method not allowed"}, status_code=405)
        else:
            try:
                response = await self.respond(scope)
            except ApiError as error:
                response = error_response(error)
        await response(scope, receive, send)

    async def respond(self, scope: Scope) -> Response:
        relative: str = scope["path"][len("/media") :]  # HotPaths hands over /media/...
        raw_query: bytes = scope["query_string"]
        if len(raw_query) > MAX_QUERY:
            raise Forbidden("the query string is too long")
        query = {k: v[0] for k, v in parse_qs(raw_query.decode("latin-1")).items()}
        delivery = self.delivery
        token = query.get("token", "")
        if not token:
            raise Forbidden("a token is required")
        try:
            grant = delivery.origin_signer.verify(relative, token, now=delivery.clock())
        except TokenRejected as error:
            raise Forbidden(str(error)) from error
        if not relative.endswith((".ts", ".m3u8")):
            raise NotFound("no such media")
        storage = delivery.storage
        if relative.endswith(".ts"):
            if storage is None:
                file = self._resolve(relative)
                if not file.is_file():
                    raise NotFound("no such media")
                return FileResponse(file, media_type="video/mp2t", headers=SEGMENT_HEADERS)
            segment = await run_in_threadpool(_stored, storage, relative)
            return Response(segment, media_type="video/mp2t", headers=SEGMENT_HEADERS)
        if relative.endswith("/master.m3u8"):
            body = await self._master(relative, grant, query)
        elif storage is None:
            body = self._local_media_playlist(relative, grant)
        else:
            stored = await run_in_threadpool(_stored, storage, relative)
            body = self._signed(relative, grant, stored, stored.decode)
        return Response(body, media_type=HLS, headers=PLAYLIST_HEADERS)

    def _local_media_playlist(self, relative: str, grant: StreamGrant) -> str:
        """Keyed on the file's size and mtime: an unchanged playlist is not even read."""
        try:
            stat = os.stat(self._resolve(relative))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("no such media") from None
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        return self._signed(relative, grant, version, lambda: self._read_playlist(relative))

    def _read_playlist(self, relative: str) -> str:
        text = _local_text(self.root, relative)
        if not text:
            raise NotFound("no such media")
        return text

    def _signed(
        self, relative: str, grant: StreamGrant, version: Hashable, read: Callable[[], str]
    ) -> str:
        """The playlist with a token on every URI, rewritten once per version and grant."""
        signer = self.delivery.origin_signer

        def build() -> str:
            return rewrite_playlist(read(), relative, lambda p: signer.query(p, grant))

        return self.delivery.cache.lookup(("origin", grant, relative, version), build)

    async def _master(self, relative: str, grant: StreamGrant, query: dict[str, str]) -> str:
        storage = self.delivery.storage
        if storage is None:
            text = _local_text(self.root, relative)
        else:
            text = (await run_in_threadpool(_stored, storage, relative, missing_ok=True)).decode()
        if not text:  # no ladder master yet: the recording alone
            camera_dir = self.root / relative.lstrip("/").rsplit("/", 1)[0]
            text = await run_in_threadpool(_source_only_master, self.delivery, camera_dir)
        return _steered(
            self.delivery,
            text,
            grant,
            relative,
            query.get("session"),
            query.get("viewer"),
            query.get("region", "global"),
        )

    def _resolve(self, relative: str) -> Path:
        return _resolve(self.root, relative)


def _local_text(root: Path, relative: str) -> str:
    """The playlist's text; empty when there is none."""
    try:
        return _resolve(root, relative).read_text()
    except (NotFound, FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return ""


def _stored(storage: Storage, relative: str, *, missing_ok: bool = False) -> bytes:
    try:
        return storage.get_bytes(relative.lstrip("/"))
    except KeyError:
        if missing_ok:
            return b""
        raise NotFound("no such media") from None
    except StorageUnavailable as error:
        raise ServiceUnavailable(f"object storage is unavailable: {error}") from error


def _steered(
    delivery: Delivery,
    text: str,
    grant: StreamGrant,
    path: str,
    session: str | None,
    viewer: str | None,
    region: str,
) -> str:
    """Every rung once per provider; the steering server needs the viewer's session."""
    if not session or not viewer:
        raise Forbidden("a master playlist is served to a playback session only")
    camera_id = path.split("/")[2]
    try:
        ranked = delivery.selector.ranked(viewer, region)
    except NoEligibleProvider as error:
        raise NotFound(str(error)) from error
    steering = (
        f"{delivery.settings.public_url}/api/steering/{camera_id}"
        f"?session={session}&viewer={viewer}&region={region}"
    )
    return build_steered_master(
        text, grant, ranked, delivery.signers, steering_uri=steering, first=ranked[0].name
    )


def _source_only_master(delivery: Delivery, camera_dir: Path) -> str:
    """Before the ladder's first master, the recording alone: a player that starts now gets
    the source at once rather than a 404 (the rungs follow for players that start later)."""
    source = camera_dir / "source" / "index.m3u8"
    if not source.exists():
        raise NotFound("no such media")

    def build() -> str:
        rendition = describe_rendition("source", camera_dir / "source", delivery.worker_settings)
        if rendition is None:
            raise NotFound("no segment recorded yet")
        return build_master_playlist([rendition])

    key = ("source-master", str(camera_dir))
    return delivery.cache.get(key, source.read_text().split("#EXTINF", 1)[0], build)


def _resolve(root: Path, relative: str) -> Path:
    """The file under the media root; no `..`, `.` or empty parts (nothing we write is a
    link, so a path made of plain names cannot leave the root)."""
    parts = relative.lstrip("/").split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
        raise NotFound("no such media")
    return root.joinpath(*parts)
