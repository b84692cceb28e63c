"""Events: the pipeline's own and those posted from outside, newest first, filtered by
camera, site, type and time, a page at a time (keyset); posted in validated batches; and
streamed as they are written (server-sent events). A viewer key sees its sites' only."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic_core import to_json

from video_service.api.deps import (
    AdminDep,
    EventWritesDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    camera_sites_of,
    stream_of,
)
from video_service.api.events import EventFilter, OutsideEvent, list_events, store_batch
from video_service.api.pagination import After, Limit, id_cursor, parse_id_cursor, refuse_offset
from video_service.api.schemas import (
    EVENT_TYPE_PATTERN,
    MAX_DETAIL_BYTES,
    EventBatch,
    EventPublic,
    EventsPublic,
    EventsStored,
)

router = APIRouter(prefix="/api/events", tags=["events"])
TypeFilter = Annotated[str | None, Query(max_length=64, pattern=EVENT_TYPE_PATTERN)]
IdFilter = Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")]
Since = Annotated[datetime | None, Query(alias="from", description="at or after (ISO 8601)")]
Until = Annotated[datetime | None, Query(alias="to", description="before (ISO 8601)")]
FUTURE_SLACK = timedelta(days=1)


def event_filter(
    principal: PrincipalDep,
    camera_id: IdFilter = None,
    site_id: IdFilter = None,
    type: TypeFilter = None,
    since: Since = None,
    until: Until = None,
) -> EventFilter:
    if site_id is not None:
        principal.check_site(site_id)
    return EventFilter(
        camera_id=camera_id,
        site_id=site_id,
        type=type,
        since=_aware(since),
        until=_aware(until),
        site_ids=None if principal.is_admin else principal.site_ids,
    )


FilterDep = Annotated[EventFilter, Depends(event_filter)]


@router.get("", dependencies=[Depends(refuse_offset)])
def get_events(
    session: SessionDep, where: FilterDep, limit: Limit = 50, after: After = None
) -> EventsPublic:
    before = parse_id_cursor(after) if after is not None else None
    events = list_events(session, limit=limit, before=before, where=where)
    following = id_cursor(events[-1].id) if len(events) == limit else None
    return EventsPublic(data=[EventPublic.model_validate(e) for e in events], next=following)


@router.post("", status_code=201)
def post_events(
    body: EventBatch, session: EventWritesDep, settings: SettingsDep, request: Request, _: AdminDep
) -> EventsStored:
    """A batch of up to 1,000 events, validated whole: one bad item is a 422 naming its
    index and field, and nothing of the batch is stored."""
    now = datetime.now(UTC)
    oldest = now - timedelta(days=settings.event_retention_days)
    sites = camera_sites_of(request).sites(session, {item.camera_id for item in body.events})
    problems: list[dict[str, Any]] = []
    events = []
    for index, item in enumerate(body.events):
        detail_json = to_json(item.detail).decode()
        if len(detail_json) > MAX_DETAIL_BYTES:
            message = f"larger than {MAX_DETAIL_BYTES} bytes as JSON"
            problems.append(_problem(index, "detail", message, f"{len(detail_json)} bytes"))
        if item.camera_id not in sites:
            problems.append(_problem(index, "camera_id", "no such camera", item.camera_id))
        if not oldest <= item.at <= now + FUTURE_SLACK:
            message = f"must lie between {oldest:%Y-%m-%d} (retention) and a day from now"
            problems.append(_problem(index, "at", message, item.at.isoformat()))
        if not problems:
            at = item.at.astimezone(UTC)
            site = sites.get(item.camera_id, "")
            events.append(OutsideEvent(at, item.type, item.camera_id, site, item.detail,
                                       detail_json))  # fmt: skip
    if problems:
        raise RequestValidationError(problems)
    store_batch(session, events)
    return EventsStored(stored=len(events))


@router.get("/stream", response_class=StreamingResponse)
async def stream_events(request: Request, where: FilterDep) -> StreamingResponse:
    """Server-sent events, filtered like the list; each carries its id, so a client that
    reconnects with Last-Event-ID misses nothing."""
    last = request.headers.get("last-event-id", "")
    after = int(last) if last.isdigit() and len(last) <= 18 else None
    stream = stream_of(request)

    async def lines() -> AsyncIterator[bytes]:
        yield b": sparc-video events\n\n"
        async for event in stream.listen(where, after):
            data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
            yield f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(lines(), media_type="text/event-stream", headers=headers)


def _problem(index: int, field: str, message: str, value: object) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body", "events", index, field), "msg": message,
            "input": value}  # fmt: skip


def _aware(moment: datetime | None) -> datetime | None:
    """In UTC; a time without a zone is taken to be UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
