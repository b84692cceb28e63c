"""Playback: a viewer key asks for a camera and gets a signed master playlist URL on the CDN
chosen for it, and a viewer session; the steering server answers the player's polls with
its pathway order and renews that session, so viewer counts stay true without a heartbeat."""

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from cdn.steering import build_steering_response
from video_service.api.deps import (
    AdminDep,
    DeliveryDep,
    LiveDep,
    delivery_of,
    events_of,
    live_services,
    lookups_of,
)
from video_service.api.errors import MAPPED, Conflict, NotFound, error_response, validation_response
from video_service.api.lookups import CameraFacts
from video_service.api.viewing import open_viewer
from video_service.delivery.playback import Delivery
from workers.viewers import renew_session

router = APIRouter(tags=["playback"])
REGION = {"min_length": 1, "max_length": 32, "pattern": r"^[a-z0-9-]+$"}
Region = Annotated[str, Query(**REGION)]
_REGION = TypeAdapter(Annotated[str, StringConstraints(**REGION)])


class PlaybackPublic(BaseModel):
    url: str
    cdn: str
    expires_at: int
    session_id: str


@router.get("/api/cameras/{camera_id}/playback")
async def get_playback(
    camera_id: str, request: Request, region: Region = "global"
) -> PlaybackPublic:
    """A signed master playlist URL on the CDN chosen for this viewer, and a viewer session.
    (Served by `fast_playback`, ahead of FastAPI; this declaration documents it.)"""
    return await playback_for(request, camera_id, region)


async def fast_playback(request: Request) -> Response:
    """GET /api/cameras/{id}/playback without FastAPI's routing and dependency solving: the
    hot path of every player's start, handed over by `app.HotPaths`. The region is
    validated by the same constraints as the declaration above."""
    try:
        region = _REGION.validate_python(request.query_params.get("region", "global"))
    except ValidationError as error:
        located = [{**e, "loc": ("query", "region")} for e in error.errors()]
        return await validation_response(request, RequestValidationError(located))
    try:
        answer = await playback_for(request, request.path_params["camera_id"], region)
    except MAPPED as error:
        return error_response(error)
    return Response(answer.model_dump_json(), media_type="application/json")


async def playback_for(request: Request, camera_id: str, region: str) -> PlaybackPublic:
    """The key and the camera are cached for a few seconds (see lookups.py), the session is
    opened in a group (delivery/sessions.py), viewer_joined is written in the next batch."""
    lookups = lookups_of(request)
    principal = await lookups.principal(request.headers.get("authorization", ""))
    camera = await lookups.camera(camera_id)
    principal.check_site(camera.site_id)
    delivery = delivery_of(request)
    await _require_online(camera, delivery)
    chosen = delivery.selector.choose(principal.key_id, region)
    viewer = await open_viewer(live_services(request), events_of(request), camera)
    playback = delivery.playback(camera.id, principal.key_id, region, viewer.session_id, chosen)
    return PlaybackPublic(**playback.__dict__, session_id=viewer.session_id)


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
