"""The embedded origin: serves the media to players that carry the origin's token, from the
local media root or, when object storage is configured, from the bucket (so an API node
needs no copy of the media: what the workers and the edge uploaded is what plays).

A playlist is served with a token on every URI it names (relative URIs drop the query
string, so the one on the playlist URL would not reach its segments); the master is served
as a steered master (each rung once per provider, EXT-X-CONTENT-STEERING pointing at the
steering server with the viewer's session). Segments are immutable and cached long,
playlists for a second. A forged, expired or other-stream token gets 403.
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from cdn.errors import NoEligibleProvider, TokenRejected
from cdn.rewrite import rewrite_playlist
from cdn.signing import StreamGrant
from cdn.steering import build_steered_master
from video_service.api.deps import SettingsDep
from video_service.api.routes.playback import delivery_of
from video_service.delivery import Delivery
from video_service.errors import Forbidden, NotFound, ServiceUnavailable
from workers.errors import StorageUnavailable
from workers.playlists import build_master_playlist, describe_rendition
from workers.storage import SEGMENT_CACHE, Storage

router = APIRouter(tags=["origin"])

SEGMENT_HEADERS = {"Cache-Control": SEGMENT_CACHE}
PLAYLIST_HEADERS = {"Cache-Control": "private, max-age=1"}
HLS = "application/vnd.apple.mpegurl"


@router.get("/media/{path:path}", include_in_schema=False)
async def get_media(
    path: str,
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=512)] = "",
    session: str | None = None,
    viewer: str | None = None,
    region: str = "global",
) -> Response:
    relative = "/" + path
    delivery = delivery_of(request)
    if not token:
        raise Forbidden("a token is required")
    try:
        grant = delivery.origin_signer.verify(relative, token, now=delivery.clock())
    except TokenRejected as error:
        raise Forbidden(str(error)) from error
    if not relative.endswith((".ts", ".m3u8")):
        raise NotFound("no such media")
    root = settings.resolved_media_root
    storage = delivery.storage
    if relative.endswith(".ts"):
        if storage is None:
            file = _resolve(root, relative)
            return FileResponse(file, media_type="video/mp2t", headers=SEGMENT_HEADERS)
        segment = await run_in_threadpool(_stored, storage, relative)
        return Response(segment, media_type="video/mp2t", headers=SEGMENT_HEADERS)
    if storage is None:
        text = _local_text(root, relative)  # a small file: read on the event loop
    else:
        text = (await run_in_threadpool(_stored, storage, relative, missing_ok=True)).decode()
    if relative.endswith("/master.m3u8"):
        if not text:  # no ladder master yet: the recording alone
            camera_dir = root / relative.lstrip("/").rsplit("/", 1)[0]
            text = await run_in_threadpool(_source_only_master, delivery, camera_dir)
        body = _steered(delivery, text, grant, relative, session, viewer, region)
    elif not text:
        raise NotFound("no such media")
    else:
        signer = delivery.origin_signer
        body = delivery.cache.get(
            ("origin", grant, relative),
            text,
            lambda: rewrite_playlist(text, relative, lambda p: signer.query(p, grant)),
        )
    return Response(body, media_type=HLS, headers=PLAYLIST_HEADERS)


def _local_text(root: Path, relative: str) -> str:
    """The playlist's text; empty when there is none."""
    try:
        return _resolve(root, relative).read_text()
    except NotFound:
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
    candidate = (root / relative.lstrip("/")).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        raise NotFound("no such media")
    return candidate
