"""Playback: a viewer key asks for a camera and gets a signed master playlist URL on the CDN
chosen for it, and a viewer session; the steering server answers the player's polls with
its pathway order and renews that session, so viewer counts stay true without a heartbeat."""

import re
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from cdn.errors import NoEligibleProvider
from cdn.steering import build_steering_response
from video_service.api.deps import AdminDep
from video_service.api.routes.viewers import live_services, lookups_of, open_viewer
from video_service.delivery import Delivery
from video_service.errors import (
    ApiError,
    Conflict,
    NotFound,
    ServiceUnavailable,
    error_response,
)
from video_service.lookups import CameraFacts
from workers.viewers import renew_session

router = APIRouter(tags=["playback"])
Region = Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")]


class PlaybackPublic(BaseModel):
    url: str
    cdn: str
    expires_at: int
    session_id: str


def delivery_of(request: Request) -> Delivery:
    delivery: Delivery = request.app.state.delivery
    return delivery


@router.get("/api/cameras/{camera_id}/playback")
async def get_playback(
    camera_id: str, request: Request, region: Region = "global"
) -> PlaybackPublic:
    """A signed master playlist URL on the CDN chosen for this viewer, and a viewer session.
    (Served by `fast_playback`, ahead of FastAPI; this declaration documents it.)"""
    return await playback_for(request, camera_id, region)


_REGION = re.compile(r"^[a-z0-9-]{1,32}$")


async def fast_playback(request: Request) -> Response:
    """GET /api/cameras/{id}/playback without FastAPI's routing, dependency solving and
    validation: the hot path of every player's start, handed over by `app.HotPaths`."""
    region = request.query_params.get("region", "global")
    if not _REGION.match(region):
        detail = [{"loc": ["query", "region"], "msg": "a region is 1-32 of a-z, 0-9 and -",
                   "type": "string_pattern_mismatch", "input": region}]  # fmt: skip
        return JSONResponse({"detail": detail}, status_code=422)
    try:
        answer = await playback_for(request, request.path_params["camera_id"], region)
    except ApiError as error:
        return error_response(error)
    return Response(answer.model_dump_json(), media_type="application/json")


async def playback_for(request: Request, camera_id: str, region: str) -> PlaybackPublic:
    """The key and the camera are cached for a few seconds (see lookups.py), the session is
    opened in a group (session_opener.py), viewer_joined is written in the next batch."""
    lookups = lookups_of(request)
    principal = await lookups.principal(request.headers.get("authorization", ""))
    camera = await lookups.camera(camera_id)
    principal.check_site(camera.site_id)
    delivery = delivery_of(request)
    await _require_online(camera, delivery)
    try:
        chosen = delivery.selector.choose(principal.key_id, region)
    except NoEligibleProvider as error:
        raise ServiceUnavailable(str(error)) from error
    viewer = await open_viewer(request, camera)
    playback = delivery.playback(camera.id, principal.key_id, region, viewer.session_id, chosen)
    return PlaybackPublic(**playback.__dict__, session_id=viewer.session_id)


@router.get("/api/steering/{camera_id}")
def get_steering(
    camera_id: str,
    request: Request,
    session: str = Query(min_length=1, max_length=64),
    viewer: str = Query(min_length=1, max_length=64),
    region: Region = "global",
) -> dict[str, object]:
    """No API key: the session id in the URL is the capability (players cannot add headers
    to steering polls)."""
    live = live_services(request)
    if not renew_session(live.redis, camera_id, session, ttl_s=live.session_ttl_s,
                         now=time.time()):  # fmt: skip
        raise NotFound("no such viewer session (expired?): ask for playback again")
    delivery = delivery_of(request)
    try:
        ranked = [p.name for p in delivery.selector.ranked(viewer, region)]
    except NoEligibleProvider as error:
        raise ServiceUnavailable(str(error)) from error
    return build_steering_response(ranked, delivery.settings.steering_ttl_s)


class ProviderHealth(BaseModel):
    name: str
    weight: float
    regions: list[str]
    probed: bool
    ejected: bool
    ejected_until: float | None


@router.get("/api/cdn")
def get_cdn_health(request: Request, _: AdminDep) -> list[ProviderHealth]:
    """The CDN providers and whether selection currently leaves each one out."""
    selector = delivery_of(request).selector
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


async def _require_online(camera: CameraFacts, delivery: Delivery) -> None:
    if not camera.enabled:
        raise Conflict(f"camera {camera.id} is disabled")
    stale_after = 3 * delivery.settings.segment_seconds
    recorded_at = await delivery.last_recorded(camera.id)
    if recorded_at is None:
        raise Conflict(f"camera {camera.id} is offline: it has never published")
    age = time.time() - recorded_at
    if age > stale_after:
        raise Conflict(f"camera {camera.id} is offline: nothing received for {age:.0f} s")
