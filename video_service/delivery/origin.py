"""The embedded origin: serves the media to players that carry the origin's token, from the
store (the local media root, or the bucket when one is configured, so that an API node needs
no copy of the media: what the workers and the edge uploaded is what plays).

A request's path is parsed into a media key first (`workers.base.layout.parse_media_path`: `..`,
empty parts and anything that is not a camera's master, playlist or segment are refused),
and only then is its token checked against that key's path.

A playlist is served with a token on every URI it names (relative URIs drop the query
string, so the one on the playlist URL would not reach its segments); the master is served
as a steered master (each rung once per provider, EXT-X-CONTENT-STEERING pointing at the
steering server with the viewer's session). Segments are immutable and cached long,
playlists for a second. A recording's VOD playlist (`source/vod_A_B.m3u8`) is made from the
recording index on request (`recorded_ranges`).

`app.HotPaths` hands `/media/...` to `respond` before the API sees it, and maps what it
raises (errors.py of delivery, cdn and workers) to HTTP in the API's one place: every
player polls its playlist every few seconds, so this path skips FastAPI's routing and
validation, and a poll of an unchanged local playlist costs a token check, a stat and a
dictionary look-up.
"""

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from cdn.rewrite import rewrite_playlist
from cdn.signing import StreamGrant
from cdn.steering import build_steered_master
from video_service.delivery.errors import AccessDenied, MediaNotFound, NothingRecorded, RangeRefused
from video_service.delivery.playback import Delivery
from video_service.delivery.recorded_ranges import (
    MAX_PLAYBACK_S,
    TimeRange,
    build_vod_playlist,
    checked_range,
)
from workers.base.errors import BadMediaPath
from workers.base.layout import (
    MEDIA_PLAYLIST,
    SOURCE,
    MediaPath,
    is_segment_name,
    parse_media_path,
    playlist_key,
    segment_key,
)
from workers.base.storage import SEGMENT_CACHE, Storage
from workers.engine.playlists import (
    build_master_playlist,
    build_rung_playlist,
    describe_rendition,
    is_playlist,
    mark_unusable_segments,
    parse_source_window,
)

SEGMENT_HEADERS = {"Cache-Control": SEGMENT_CACHE}
PLAYLIST_HEADERS = {"Cache-Control": "private, max-age=1"}
VOD_HEADERS = {"Cache-Control": "private, max-age=60"}  # retention may yet take some away
HLS = "application/vnd.apple.mpegurl"
MAX_QUERY = 2048
T = TypeVar("T")


class Origin:
    """GET/HEAD /media/{path}?token=...[&session=&viewer=&region=]."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.storage: Storage = delivery.storage
        self._last_good: dict[str, str] = {}

    async def respond(self, path: str, raw_query: bytes) -> Response:
        """`path` is what follows /media."""
        try:
            media = parse_media_path(path)
        except BadMediaPath:
            raise MediaNotFound("no such media") from None
        if len(raw_query) > MAX_QUERY:
            raise AccessDenied("the query string is too long")
        query = {k: v[0] for k, v in parse_qs(raw_query.decode("latin-1")).items()}
        token = query.get("token", "")
        if not token:
            raise AccessDenied("a token is required")
        delivery = self.delivery
        grant = delivery.origin_signer.verify(media.url_path, token, now=delivery.clock())
        if media.is_segment:
            return await self._segment(media)
        vod = media.vod_range
        if vod is not None:
            try:  # no more than a playback answer would have named
                wanted = checked_range(vod[0] / 1000, vod[1] / 1000, longest_s=MAX_PLAYBACK_S,
                                       what="a recording's playlist")  # fmt: skip
            except RangeRefused as error:
                raise MediaNotFound(str(error)) from None
            body = await self._vod(media, grant, wanted)
            return Response(body, media_type=HLS, headers=VOD_HEADERS)
        if media.is_master:
            body = await self._master(media, grant, query)
        else:
            body = await self._playlist(media, grant)
        return Response(body, media_type=HLS, headers=PLAYLIST_HEADERS)

    async def _segment(self, media: MediaPath) -> Response:
        try:
            local = await self._call(self.storage.local_file, media.key)
            if local is not None:
                return FileResponse(local, media_type="video/mp2t", headers=SEGMENT_HEADERS)
            body = await self._call(self.storage.get_bytes, media.key)
        except KeyError:
            raise MediaNotFound("no such media") from None
        return Response(body, media_type="video/mp2t", headers=SEGMENT_HEADERS)

    async def _vod(self, media: MediaPath, grant: StreamGrant, wanted: TimeRange) -> str:
        try:
            found = await run_in_threadpool(self.delivery.recorded, media.camera_id, wanted)
        except NothingRecorded as error:
            raise MediaNotFound(str(error)) from None
        signer = self.delivery.origin_signer
        return rewrite_playlist(
            build_vod_playlist(found), media.url_path, lambda p: signer.query(p, grant)
        )

    async def _playlist(self, media: MediaPath, grant: StreamGrant) -> str:
        """Keyed on the object's version: an unchanged playlist is not even read (and, in
        the local store, not even a thread is asked for: a stat is cheap)."""
        found = await self._call(self.storage.stat, media.key)
        signer = self.delivery.origin_signer
        if found is None:  # a planned rung no worker has written yet: present, and empty
            return await self._unwritten_rung(media, grant)

        def build() -> str:
            text = self._whole_playlist(media)
            return rewrite_playlist(text, media.url_path, lambda p: signer.query(p, grant))

        key = ("origin", grant, media.key, found.version)
        return await self._call(self.delivery.cache.lookup, key, build)

    async def _unwritten_rung(self, media: MediaPath, grant: StreamGrant) -> str:
        """A rung's playlist before any worker wrote it: empty at the source's media
        sequence (players wait on it for the first segment), if the planned master names
        the rung; else MediaNotFound. Made once per version of the source playlist (which
        changes with each segment, and with each publish, as the plan does), as cheap to
        ask for as a written one: any client may ask for it."""
        source = await self._call(self.storage.stat, playlist_key(media.camera_id, SOURCE))
        if source is None:
            raise MediaNotFound("no such media")
        signer = self.delivery.origin_signer

        def build() -> str:  # "" when the rung is not planned: remembered as well
            text = self._empty_rung(media)
            if text is None:
                return ""
            return rewrite_playlist(text, media.url_path, lambda p: signer.query(p, grant))

        key = ("unwritten", grant, media.key, source.version)
        body = self.delivery.cache.find(key)
        if body is None:  # made in a thread: it asks Redis and reads the source playlist
            body = await run_in_threadpool(self.delivery.cache.lookup, key, build)
        if not body:
            raise MediaNotFound("no such media")
        return body

    async def _master(self, media: MediaPath, grant: StreamGrant, query: dict[str, str]) -> str:
        session, viewer = query.get("session"), query.get("viewer")
        if not session or not viewer:
            raise AccessDenied("a master playlist is served to a playback session only")
        try:
            text = await self._call(self._read, media.key)
        except MediaNotFound:  # no worker has written it: the edge's plan, or the recording
            text = await run_in_threadpool(self._unwritten_master, media.camera_id)
        delivery = self.delivery
        region = query.get("region", "global")
        ranked = delivery.selector.ranked(viewer, region)
        steering = (
            f"{delivery.settings.public_url}/api/steering/{media.camera_id}"
            f"?session={session}&viewer={viewer}&region={region}"
        )
        return build_steered_master(
            text, grant, ranked, delivery.signers, steering_uri=steering, first=ranked[0].name
        )

    def _whole_playlist(self, media: MediaPath) -> str:
        """The playlist as players may have it: if the file is not a playlist (a recorder
        that ran out of disk leaves it empty) the last good one; a segment it lists that
        is empty or missing, marked as a gap."""
        try:
            text = self._read(media.key)
        except MediaNotFound:
            text = ""
        if not is_playlist(text):
            if media.key in self._last_good:
                return self._last_good[media.key]
            raise MediaNotFound("no such media")
        if not self.storage.remote:  # a stat each, once per version of the playlist
            folder = media.key.rsplit("/", 1)[0]
            text = mark_unusable_segments(text, lambda uri: self._whole(f"{folder}/{uri}"))
        if len(self._last_good) > 10_000:
            self._last_good.clear()
        self._last_good[media.key] = text
        return text

    def _whole(self, key: str) -> bool:
        try:
            found = self.storage.stat(key)
        except ValueError:  # not a plain key: not one of ours
            return False
        return found is not None and found.size > 0

    def _read(self, key: str) -> str:
        try:
            text = self.storage.get_bytes(key).decode()
        except KeyError:
            raise MediaNotFound("no such media") from None
        if not text:
            raise MediaNotFound("no such media")
        return text

    def _unwritten_master(self, camera_id: str) -> str:
        """Before any worker wrote the camera's master: the one its edge planned (every
        rung, from the first request), else the recording alone."""
        planned = self.delivery.planned_master(camera_id)
        return planned if planned is not None else self._source_only_master(camera_id)

    def _empty_rung(self, media: MediaPath) -> str | None:
        """The empty playlist of a rung the camera's planned master names; None if it names
        none such. Blocks (Redis, storage)."""
        planned = self.delivery.planned_master(media.camera_id)
        listed = f"{media.rendition}/{MEDIA_PLAYLIST}"
        if media.name != MEDIA_PLAYLIST or planned is None or listed not in planned.splitlines():
            return None
        try:
            window = parse_source_window(self._read(playlist_key(media.camera_id, SOURCE)))
        except MediaNotFound:
            return None
        return build_rung_playlist(window, (), now=self.delivery.clock(), deadline_s=0.0)

    def _source_only_master(self, camera_id: str) -> str:
        """Before the ladder's first master, the recording alone: a player that starts now
        gets the source at once rather than a 404 (the rungs follow for players that start
        later). Built from the store's recording: the bucket's, when one is configured (an
        API node needs no copy of it), probed once per version of the source playlist."""
        key = playlist_key(camera_id, SOURCE)
        if self.storage.remote:
            text = self._read(key)
        else:
            try:
                text = self.delivery.layout.path(key).read_text()
            except FileNotFoundError:
                raise MediaNotFound("no such media") from None
        head = text.split("#EXTINF", 1)[0]

        def build() -> str:
            with tempfile.TemporaryDirectory(prefix="sparc-source-") as scratch:
                folder = self._source_copy(camera_id, text, Path(scratch))
                found = describe_rendition(SOURCE, folder, self.delivery.settings)
            if found is None:
                raise MediaNotFound("no segment recorded yet")
            return build_master_playlist([found])

        return self.delivery.cache.get(("source-master", camera_id), head, build)

    def _source_copy(self, camera_id: str, text: str, scratch: Path) -> Path:
        """The source playlist's folder as a local one: this machine's own recording, or the
        playlist and its segments fetched from the bucket into `scratch`."""
        if not self.storage.remote:
            return self.delivery.layout.source_dir(camera_id)
        (scratch / MEDIA_PLAYLIST).write_text(text)
        for entry in parse_source_window(text).entries:
            if not is_segment_name(entry.uri):
                continue  # only names we make: nothing from a playlist becomes another path
            with contextlib.suppress(KeyError):
                data = self.storage.get_bytes(segment_key(camera_id, SOURCE, entry.uri))
                (scratch / entry.uri).write_bytes(data)
        return scratch

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        """Run a storage call in a worker thread when it waits on the network."""
        if self.storage.remote:
            return await run_in_threadpool(function, *args)
        return function(*args)
