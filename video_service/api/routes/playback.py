"""Playback: a viewer key asks for a camera and gets a signed master playlist URL on the CDN
chosen for it, and a viewer session; the steering server answers the player's polls with
its pathway order and renews that session, so viewer counts stay true without a heartbeat.
With `start` and `end`, the same route gives the recording of that range instead: a signed
VOD playlist URL through the same selection and signing (no viewer session: recordings need
no ladder)."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import redis
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from starlette.concurrency import run_in_threadpool

from cdn.steering import build_steering_response
from video_service.api.auth import Principal
from video_service.api.deps import (
    AdminDep,
    DeliveryDep,
    LiveDep,
    delivery_of,
    events_of,
    live_services,
    lookups_of,
)
from video_service.api.errors import (
    MAPPED,
    Conflict,
    NotFound,
    Unprocessable,
    error_response,
    validation_response,
)
from video_service.api.lookups import CameraFacts
from video_service.api.paths import PLAYBACK
from video_service.api.schemas import AskedTime
from video_service.api.viewing import open_viewer
from video_service.delivery.errors import RangeRefused
from video_service.delivery.playback import Delivery
from video_service.delivery.recorded_ranges import MAX_PLAYBACK_S, TimeRange, checked_range
from video_service.shared.streams import live_facts
from video_service.shared.viewer_sessions import renew_session

router = APIRouter(tags=["playback"])
REGION = {"min_length": 1, "max_length": 32, "pattern": r"^[a-z0-9-]+$"}
Region = Annotated[str, Query(**REGION)]
_REGION = TypeAdapter(Annotated[str, StringConstraints(**REGION)])
_TIME = TypeAdapter(AskedTime)
_FLAG = TypeAdapter(bool)
Start = Annotated[AskedTime | None, Query(description="recorded playback from (ISO 8601)")]
End = Annotated[AskedTime | None, Query(description="recorded playback to (ISO 8601)")]


class PlaybackPublic(BaseModel):
    url: str
    cdn: str
    expires_at: int
    session_id: str | None = Field(description="the live viewer session (None: a recording)")
    webrtc: str | None = Field(
        default=None,
        description="live only: the camera's WHEP endpoint (POST an SDP offer), its token in "
        "the URL; None where live view over WebRTC is not offered",
    )
    webrtc_sub: str | None = Field(
        default=None,
        description="live only: the WHEP endpoint of the camera's sub-stream (small, for "
        "walls), its own token in the URL; None while no sub-stream is live",
    )
    # A recording only: the range the playlist covers (whole segments), and where in it
    # the time asked for is (a player starts there).
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    offset_s: float | None = None


@router.get(PLAYBACK.template)
async def get_playback(
    camera_id: str,
    request: Request,
    region: Region = "global",
    start: Start = None,
    end: End = None,
    webrtc_only: bool = False,
) -> PlaybackPublic:
    """A signed master playlist URL on the CDN chosen for this viewer, and a viewer session;
    with `start` and `end` (at most 24 hours apart), a signed VOD playlist URL of the
    recording instead. `webrtc_only`: live, for a viewer who watches over WebRTC only (a
    wall's tile): no viewer session is opened, so no HLS ladder is made for it (its `url`
    plays once a session is asked for without it). (Served by `fast_playback`, ahead of
    FastAPI; this declaration documents it.)"""
    window = _window(start, end)
    return await playback_for(request, camera_id, region, window, webrtc_only=webrtc_only)


async def fast_playback(request: Request) -> Response:
    """GET /api/cameras/{id}/playback without FastAPI's routing and dependency solving: the
    hot path of every player's start, handed over by `app.HotPaths`. The region is
    validated by the same constraints as the declaration above, after the key (a caller
    without one hears 401 before anything else is judged)."""
    query = request.query_params
    try:
        await lookups_of(request).principal(request.headers.get("authorization", ""))
    except MAPPED as error:
        return error_response(error)
    try:
        region = _REGION.validate_python(query.get("region", "global"))
        times = [_query_time(query.get(name), name) for name in ("start", "end")]
        webrtc_only = _query_flag(query.get("webrtc_only"), "webrtc_only")
    except _BadQuery as error:
        return await validation_response(request, RequestValidationError(error.located))
    except ValidationError as error:
        located = [{**e, "loc": ("query", "region")} for e in error.errors()]
        return await validation_response(request, RequestValidationError(located))
    try:
        window = _window(*times)
        camera_id = request.path_params["camera_id"]
        answer = await playback_for(request, camera_id, region, window, webrtc_only=webrtc_only)
    except MAPPED as error:
        return error_response(error)
    return Response(answer.model_dump_json(), media_type="application/json")


class _BadQuery(ValueError):
    def __init__(self, located: list[dict[str, object]]) -> None:
        super().__init__("bad query")
        self.located = located


def _query_time(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return _TIME.validate_python(raw)
    except ValidationError as error:
        raise _BadQuery([{**e, "loc": ("query", name)} for e in error.errors()]) from None


def _query_flag(raw: str | None, name: str) -> bool:
    try:
        return _FLAG.validate_python(raw or "false")
    except ValidationError as error:
        raise _BadQuery([{**e, "loc": ("query", name)} for e in error.errors()]) from None


def _window(start: datetime | None, end: datetime | None) -> TimeRange | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise Unprocessable("recorded playback needs both start and end", ("query", missing))
    return refused_as_422(lambda: checked_range(
        start.timestamp(), end.timestamp(), longest_s=MAX_PLAYBACK_S, what="a playback"
    ))  # fmt: skip


def refused_as_422(check: Callable[[], TimeRange]) -> TimeRange:
    try:
        return check()
    except RangeRefused as error:
        raise Unprocessable(str(error), ("query", "end")) from None


async def playback_for(
    request: Request,
    camera_id: str,
    region: str,
    window: TimeRange | None = None,
    *,
    webrtc_only: bool = False,
) -> PlaybackPublic:
    """The key and the camera are cached for a few seconds (see lookups.py), the session is
    opened in a group (delivery/sessions.py), viewer_joined is written in the next batch."""
    lookups = lookups_of(request)
    principal = await lookups.principal(request.headers.get("authorization", ""))
    camera = await lookups.camera(camera_id)
    principal.check_site(camera.site_id)
    delivery = delivery_of(request)
    if window is not None:
        return await recorded_playback(delivery, principal, camera.id, region, window)
    live = live_services(request)
    await _require_online(camera, delivery, live.redis)
    chosen = delivery.selector.choose(principal.key_id, region)
    session_id = None
    if not webrtc_only:
        session_id = (await open_viewer(live, events_of(request), camera, principal)).session_id
    edge = await delivery.live_view_base(live.redis, camera.id)
    sub_edge = await delivery.sub_stream_base(live.redis, camera.id)
    playback = delivery.playback(
        camera.id, principal.key_id, region, session_id, chosen, edge, sub_edge
    )
    return PlaybackPublic(**playback.__dict__, session_id=session_id)


async def recorded_playback(
    delivery: Delivery, principal: Principal, camera_id: str, region: str, wanted: TimeRange
) -> PlaybackPublic:
    """The recording of `wanted`: 404 if nothing is recorded in it (saying whether it is
    past retention)."""
    found = await run_in_threadpool(delivery.recorded, camera_id, wanted)
    chosen = delivery.selector.choose(principal.key_id, region)
    playback = delivery.recorded_playback(camera_id, wanted, principal.key_id, chosen)
    first, last = found[0], found[-1]
    return PlaybackPublic(
        **playback.__dict__,
        session_id=None,
        start=datetime.fromtimestamp(first.start, UTC),
        end=datetime.fromtimestamp(last.end, UTC),
        offset_s=round(max(0.0, wanted.start - first.start), 3),
    )


@router.get("/api/steering/{camera_id}")
def get_steering(
    camera_id: str,
    live: LiveDep,
    delivery: DeliveryDep,
    session: str = Query(min_length=1, max_length=64),
    viewer: str = Query(min_length=1, max_length=64),
    region: Region = "global",
) -> dict[str, object]:
    """No API key: the session id in the URL is the capability (players cannot add headers
    to steering polls)."""
    if not renew_session(live.redis, camera_id, session, ttl_s=live.session_ttl_s,
                         now=time.time()):  # fmt: skip
        raise NotFound("no such viewer session (expired?): ask for playback again")
    ranked = [p.name for p in delivery.selector.ranked(viewer, region)]
    return build_steering_response(ranked, delivery.settings.steering_ttl_s)


class ProviderHealth(BaseModel):
    name: str
    weight: float
    regions: list[str]
    probed: bool
    ejected: bool
    ejected_until: float | None


@router.get("/api/cdn")
def get_cdn_health(delivery: DeliveryDep, _: AdminDep) -> list[ProviderHealth]:
    """The CDN providers and whether selection currently leaves each one out."""
    selector = delivery.selector
    return [
        ProviderHealth(
            name=p.name,
            weight=p.weight,
            regions=list(p.regions),
            probed=p.health_url is not None,
            ejected=selector.is_ejected(p.name),
            ejected_until=selector.ejected_until(p.name) if selector.is_ejected(p.name) else None,
        )
        for p in selector.providers
    ]


async def _require_online(camera: CameraFacts, delivery: Delivery, client: redis.Redis) -> None:
    """Online: recorded in the last three segments' time, or relayed by an edge now (from
    RECORD on, before its first segment is written)."""
    if not camera.enabled:
        raise Conflict(f"camera {camera.id} is disabled")
    stale_after = 3 * delivery.settings.segment_seconds
    recorded_at = await delivery.last_recorded(camera.id)
    if recorded_at is not None and time.time() - recorded_at <= stale_after:
        return
    if await run_in_threadpool(_relayed_now, client, camera.id):
        return
    if recorded_at is None:
        raise Conflict(f"camera {camera.id} is offline: it has never published")
    age = time.time() - recorded_at
    raise Conflict(f"camera {camera.id} is offline: nothing received for {age:.0f} s")


def _relayed_now(client: redis.Redis, camera_id: str) -> bool:
    try:
        return live_facts(client, camera_id) is not None
    except redis.RedisError:
        return False
