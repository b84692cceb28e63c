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
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from video_service.api.auth import bearer_key_hash, user_session_hash
from video_service.api.deps import (
    AdminDep,
    EventWritesDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    camera_sites_of,
    lookups_of,
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
    in_utc,
)
from video_service.api.state import api_state

router = APIRouter(prefix="/api/events", tags=["events"])
TypeFilter = Annotated[str | None, Query(max_length=64, pattern=EVENT_TYPE_PATTERN)]
IdFilter = Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")]
# A time without a zone is taken to be UTC.
QueryTime = Annotated[datetime, AfterValidator(in_utc)]
Since = Annotated[QueryTime | None, Query(alias="from", description="at or after (ISO 8601)")]
Until = Annotated[QueryTime | None, Query(alias="to", description="before (ISO 8601)")]
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
        since=since,
        until=until,
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
        detail_json, wrong = _detail_json(item.detail)
        if wrong is not None:
            problems.append(_problem(index, "detail", wrong, f"{len(detail_json)} bytes"))
        if item.camera_id not in sites:
            problems.append(_problem(index, "camera_id", "no such camera", item.camera_id))
        if not oldest <= item.at <= now + FUTURE_SLACK:
            message = f"must lie between {oldest:%Y-%m-%d} (retention) and a day from now"
            problems.append(_problem(index, "at", message, item.at.isoformat()))
        if not problems:
            at = item.at
            site = sites.get(item.camera_id, "")
            events.append(OutsideEvent(at, item.type, item.camera_id, site, item.detail,
                                       detail_json))  # fmt: skip
    if problems:
        raise RequestValidationError(problems)
    store_batch(session, events)
    return EventsStored(stored=len(events))


@router.get("/stream", response_class=StreamingResponse)
async def stream_events(
    request: Request, where: FilterDep, named: bool = True
) -> StreamingResponse:
    """Server-sent events, filtered like the list; each carries its id, so a client that
    reconnects with Last-Event-ID misses nothing. Each is named by its type (`event:`);
    `named=false`: none is (a browser's EventSource hands every one to `onmessage`, whatever
    its type; the type is in the data either way)."""
    last = request.headers.get("last-event-id", "")
    after = int(last) if last.isascii() and last.isdigit() and len(last) <= 18 else None
    stream = stream_of(request)
    authorization = request.headers.get("authorization", "")
    holder = bearer_key_hash(authorization)
    stream.admit(holder)
    lookups = lookups_of(request)

    signed_in = user_session_hash(holder)
    web = api_state(request).web_sessions

    async def still_allowed() -> bool:
        """The key not revoked or expired (the user's session not ended), and still given
        every site the stream shows."""
        if signed_in is not None and (web is None or not await run_in_threadpool(
            web.exists, signed_in
        )):  # fmt: skip
            return False
        now = await lookups.principal_or_none(authorization)
        if now is None or now.is_admin:
            return now is not None
        wanted = {where.site_id} if where.site_id is not None else set(where.site_ids or ())
        return where.site_ids is not None and wanted <= now.site_ids

    async def lines() -> AsyncIterator[bytes]:
        yield b": sparc-video events\n\n"
        async for event in stream.listen(where, after, holder, still_allowed):
            if event is None:
                yield b": keep-alive\n\n"
                continue
            data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
            name = f"event: {event.type}\n" if named else ""
            yield f"id: {event.id}\n{name}data: {data}\n\n".encode()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(lines(), media_type="text/event-stream", headers=headers)


def _problem(index: int, field: str, message: str, value: object) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body", "events", index, field), "msg": message,
            "input": value}  # fmt: skip


MAX_DETAIL_DEPTH = 16


def _detail_json(detail: dict[str, Any]) -> tuple[str, str | None]:
    """The detail as stored (JSON), and what is wrong with it: too large, too deep (600
    bytes of brackets would cost a recursion each), or text that is not Unicode."""
    if not _flat(detail) and _depth(detail) > MAX_DETAIL_DEPTH:
        return "", f"nested deeper than {MAX_DETAIL_DEPTH}"
    text = json.dumps(detail, ensure_ascii=False, separators=(",", ":"))
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        return text, "holds a lone surrogate (text that is not Unicode)"
    if size > MAX_DETAIL_BYTES:
        return text, f"larger than {MAX_DETAIL_BYTES} bytes as JSON"
    return text, None


def _flat(detail: dict[str, Any]) -> bool:
    """No object or list inside (most details): the depth walk is spared."""
    return not any(type(value) in (dict, list) for value in detail.values())


def _depth(value: object) -> int:
    """How deep JSON nests, without recursing (a hostile body may nest thousands deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DETAIL_DEPTH:
                return level
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest
