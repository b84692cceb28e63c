"""Recordings: what a camera recorded when (spans and the gaps between them), an event's
clip (the recording around it, as a signed VOD playlist URL), and a range exported as one
MP4. A viewer key sees its sites' cameras only; recorded playback itself is
`GET /api/cameras/{id}/playback?start=&end=` (routes/playback.py)."""

import asyncio
import pathlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from video_service.api.auth import Principal
from video_service.api.deps import CallerDep, SettingsDep, delivery_of, lookups_of
from video_service.api.errors import NotFound, ServiceUnavailable
from video_service.api.models import Event
from video_service.api.pictures import jpeg_response
from video_service.api.routes.playback import (
    REGION,
    PlaybackPublic,
    recorded_playback,
    refused_as_422,
)
from video_service.api.schemas import AskedTime
from video_service.api.state import api_state
from video_service.delivery.event_stills import event_still, kept_event_still
from video_service.delivery.export import export_mp4
from video_service.delivery.recorded_ranges import (
    CLIP_AFTER_S,
    CLIP_BEFORE_S,
    MAX_EXPORT_S,
    TimeRange,
    checked_range,
)
from video_service.shared.recording_index import Span, gaps_between

router = APIRouter(tags=["recordings"])
CameraId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
MAX_SPANS_RANGE = timedelta(days=31)
DEFAULT_SPANS_RANGE = timedelta(hours=24)


class SpanPublic(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class RecordingsPublic(BaseModel):
    camera_id: str
    spans: list[SpanPublic] = Field(description="recorded without a gap, oldest first")
    gaps: list[SpanPublic] = Field(description="what this page's stretch of time lacks")
    next: AwareDatetime | None = Field(
        description="more spans follow: ask again with this as `from`"
    )


@router.get("/api/cameras/{camera_id}/recordings")
async def get_recordings(
    camera_id: CameraId,
    request: Request,
    principal: CallerDep,
    since: Annotated[
        AskedTime | None, Query(alias="from", description="default: `to` less 24 hours")
    ] = None,
    until: Annotated[AskedTime | None, Query(alias="to", description="default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="spans per page")] = 100,
) -> RecordingsPublic:
    """The camera's recorded spans between `from` and `to` (at most 31 days apart), with the
    gaps between them, a page of spans at a time."""
    lookups = lookups_of(request)
    principal.check_site((await lookups.camera(camera_id)).site_id)
    end = until or datetime.now(UTC)
    start = since or end - DEFAULT_SPANS_RANGE
    wanted = refused_as_422(
        lambda: checked_range(
            start.timestamp(),
            end.timestamp(),
            longest_s=MAX_SPANS_RANGE.total_seconds(),
            what="a listing of recordings",
        )
    )
    index = delivery_of(request).recordings
    if index is None:
        raise ServiceUnavailable("this node has no recording index")
    spans = await run_in_threadpool(index.spans, camera_id, wanted.start, wanted.end)
    page, more = spans[:limit], len(spans) > limit
    covered_to = page[-1].end if more else wanted.end
    return RecordingsPublic(
        camera_id=camera_id,
        spans=[_public(s) for s in page],
        gaps=[_public(g) for g in gaps_between(page, wanted.start, covered_to)],
        next=_at(page[-1].end) if more else None,
    )


@router.get("/api/events/{event_id}/clip")
async def get_event_clip(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: CallerDep,
    region: Annotated[str, Query(**REGION)] = "global",
    before: Annotated[float, Query(ge=0, le=3600, description="seconds before the event")] = (
        CLIP_BEFORE_S
    ),
    after: Annotated[float, Query(ge=0, le=3600, description="seconds after the event")] = (
        CLIP_AFTER_S
    ),
) -> PlaybackPublic:
    """The recording around an event of a camera (its own, or one posted from outside): a
    signed VOD playlist URL from `before` seconds before it to `after` seconds after."""
    camera_id, moment = await _camera_event(request, event_id, principal, "clip")
    wanted = TimeRange(moment - before, moment + max(after, 0.001))
    return await recorded_playback(delivery_of(request), principal, camera_id, region, wanted)


IMMUTABLE = "private, max-age=31536000, immutable"  # the picture of a moment never changes


@router.get(
    "/api/events/{event_id}/still.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the picture at the event's time"},
        304: {"description": "the picture named by If-None-Match (it never changes)"},
        404: {"description": "no such event, or nothing recorded at its time"},
    },
)
async def get_event_still(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: CallerDep,
    settings: SettingsDep,
) -> Response:
    """The camera's picture at the event's time, a JPEG at most 640 wide: cut from the
    recording the first time it is asked for and kept in the store; the same answer ever
    after (cache it for good). Cutting one takes one of the node's
    `SPARC_EXPORTS_AT_ONCE` slots (503 when none is free); reading a kept one does not."""
    camera_id, moment = await _camera_event(request, event_id, principal, "picture")
    delivery = delivery_of(request)
    kept = await run_in_threadpool(kept_event_still, delivery.storage, event_id)
    if kept is not None:
        return jpeg_response(request, kept, IMMUTABLE)
    recorded = await run_in_threadpool(
        delivery.recorded, camera_id, TimeRange(moment, moment + 0.001)
    )
    slots = api_state(request).export_slots  # shared with exports: FFmpeg runs at once
    if not slots.acquire(blocking=False):
        raise ServiceUnavailable("too many pictures and exports at once: try again shortly")
    try:
        jpeg = await run_in_threadpool(
            event_still, delivery.storage, camera_id, event_id, moment, recorded,
            ffmpeg=settings.ffmpeg, workdir=settings.state_dir / "stills",
        )  # fmt: skip
    finally:
        slots.release()
    return jpeg_response(request, jpeg, IMMUTABLE)


@router.get(
    "/api/cameras/{camera_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}, "description": "the MP4"}},
)
async def get_export(
    camera_id: CameraId,
    request: Request,
    principal: CallerDep,
    settings: SettingsDep,
    start: Annotated[AskedTime, Query(description="from (ISO 8601)")],
    end: Annotated[AskedTime, Query(description="to (ISO 8601), at most an hour on")],
) -> FileResponse:
    """The recording from `start` to `end` (at most an hour) as one MP4, remuxed (not
    re-encoded), `faststart`; gaps are left out. It starts at the keyframe at or before
    `start`. A node makes `SPARC_EXPORTS_AT_ONCE` (2) at a time; more get 503."""
    lookups = lookups_of(request)
    camera = await lookups.camera(camera_id)
    principal.check_site(camera.site_id)
    wanted = refused_as_422(
        lambda: checked_range(
            start.timestamp(), end.timestamp(), longest_s=MAX_EXPORT_S, what="an export"
        )
    )
    delivery = delivery_of(request)
    found = await run_in_threadpool(delivery.recorded, camera.id, wanted)
    slots = api_state(request).export_slots
    if not slots.acquire(blocking=False):
        raise ServiceUnavailable("too many exports at once on this node: try again shortly")
    try:
        exported = await run_in_threadpool(
            export_mp4,
            delivery.storage,
            camera.id,
            found,
            wanted,
            ffmpeg=settings.ffmpeg,
            workdir=settings.state_dir / "exports",
        )
    except BaseException:
        slots.release()
        raise

    def sent() -> None:  # the slot is held until the file is gone from the disk
        exported.remove()
        slots.release()

    name = f"{camera.id}_{start.astimezone(UTC):%Y%m%dT%H%M%SZ}.mp4"
    return ExportResponse(exported.path, sent, settings.export_stall_s, filename=name)


class ExportResponse(FileResponse):
    """The MP4, sent to a client that reads it: one that stops reading for `stall_s` is cut
    off, so that it holds the node's export slot (and the file's room on the disk) that long
    at most. `done` runs once the send ended, whichever way."""

    def __init__(
        self, path: pathlib.Path, done: Callable[[], None], stall_s: float, *, filename: str
    ) -> None:
        super().__init__(path, media_type="video/mp4", filename=filename)
        self._done = done
        self._stall_s = stall_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_or_give_up(message: Message) -> None:
            try:
                await asyncio.wait_for(send(message), self._stall_s)
            except TimeoutError:
                raise OSError(f"the client read nothing for {self._stall_s:g} s") from None

        try:
            await super().__call__(scope, receive, send_or_give_up)
        finally:
            await run_in_threadpool(self._done)


async def _camera_event(
    request: Request, event_id: int, principal: Principal, what: str
) -> tuple[str, float]:
    """The event's camera and time, for a caller that may see its site; else the 404 (no
    such event, or one about no camera: it has no `what`) or the 403."""
    event = await run_in_threadpool(_event, request, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    camera_id, site_id, at = event
    if camera_id is None:
        raise NotFound(f"event {event_id} is about no camera: it has no {what}")
    principal.check_site(site_id or "")
    return camera_id, at.timestamp()


def _event(request: Request, event_id: int) -> tuple[str | None, str | None, datetime] | None:
    sessions = api_state(request).sessions
    with sessions() as session:
        row = session.execute(
            select(Event.camera_id, Event.site_id, Event.at).where(Event.id == event_id)
        ).first()
    if row is None:
        return None
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return row.camera_id, row.site_id, at


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _public(span: Span) -> SpanPublic:
    return SpanPublic(start=_at(span.start), end=_at(span.end))
