"""Cameras: create (the publish URL and password are shown once), list, get, update,
disable, delete. The server keeps only the Digest HA1 of a push camera's password, and a
pull camera's source URL is never returned with its credentials."""

import contextlib
from email.utils import formatdate

import redis
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import func, select, tuple_

from video_service.api.deps import (
    AdminDep,
    CameraWritesDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    camera_changed,
    find_camera,
    find_site,
)
from video_service.api.errors import NotFoundRetry, ServiceUnavailable, Unprocessable
from video_service.api.models import Camera, CameraMode, new_id
from video_service.api.pagination import (
    After,
    Limit,
    created_cursor,
    parse_created_cursor,
    refuse_offset,
)
from video_service.api.pictures import jpeg_response
from video_service.api.pull_credentials import store_source, store_sub_source
from video_service.api.schemas import (
    CameraCreate,
    CameraCreated,
    CameraPublic,
    CamerasPublic,
    CameraUpdate,
    StreamPublic,
)
from video_service.api.security import generate_password
from video_service.api.settings import ApiSettings
from video_service.api.state import api_state
from video_service.edge.digest import digest_ha1
from video_service.edge.errors import BadPullUrl
from video_service.edge.pull_urls import PullUrl, check_destination, parse_pull_url
from video_service.shared.stills import note_asked, read_still
from video_service.shared.streams import live_facts, sub_stream_id
from workers.base.secrets import secret_box

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.post("", status_code=201)
def create_camera(
    body: CameraCreate, session: CameraWritesDep, settings: SettingsDep, _: AdminDep
) -> CameraCreated:
    find_site(session, body.site_id)
    if body.mode is CameraMode.PULL and not body.source_url:
        raise Unprocessable("a pull camera needs source_url", ("body", "source_url"))
    if body.mode is CameraMode.PUSH and body.sub_source_url is not None:
        why = "a push camera publishes its sub-stream to sub_publish_url: sub_source_url is "
        raise Unprocessable(why + "for pull cameras", ("body", "sub_source_url"))
    camera_id = new_id()
    username = f"cam-{camera_id[:12]}"
    # A pull camera gets a random password nobody knows: its edge path cannot be published to.
    password = generate_password()
    camera = Camera(
        id=camera_id,
        site_id=body.site_id,
        name=body.name,
        mode=body.mode,
        rtsp_username=username,
        digest_ha1=digest_ha1(username, settings.rtsp_realm, password),
    )
    if body.source_url is not None:
        store_source(camera, checked_source(body.source_url, settings), secret_box(settings))
    if body.sub_source_url is not None:
        sub = checked_source(body.sub_source_url, settings, "sub_source_url")
        store_sub_source(camera, sub, secret_box(settings))
    session.add(camera)
    session.flush()
    public = to_public(camera, settings)
    shown = password if body.mode is CameraMode.PUSH else None
    return CameraCreated(**public.model_dump(), rtsp_password=shown)


@router.get("", dependencies=[Depends(refuse_offset)])
def list_cameras(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    site_id: str | None = None,
    limit: Limit = 50,
    after: After = None,
) -> CamerasPublic:
    """Oldest first, a page at a time: `next` is the cursor of the following page."""
    query = select(Camera)
    if site_id is not None:
        principal.check_site(site_id)
        query = query.where(Camera.site_id == site_id)
    if not principal.is_admin:
        query = query.where(Camera.site_id.in_(principal.site_ids))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if after is not None:
        query = query.where(tuple_(Camera.created_at, Camera.id) > parse_created_cursor(after))
    page = list(session.scalars(query.order_by(Camera.created_at, Camera.id).limit(limit)))
    following = created_cursor(page[-1].created_at, page[-1].id) if len(page) == limit else None
    shown = [to_public(c, settings, principal.is_admin) for c in page]
    return CamerasPublic(data=shown, count=count, next=following)


@router.get("/{camera_id}")
def get_camera(
    camera_id: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    request: Request,
) -> CameraPublic:
    """The camera, with its sub-stream while one is live."""
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    public = to_public(camera, settings, principal.is_admin)
    live = api_state(request).live
    if live is not None:
        public.sub_stream = live_sub_stream(live.redis, camera.id)
    return public


STILL_MAX_AGE_S = 2  # what a browser may keep a picture for: a new one is made every 5 s


@router.get(
    "/{camera_id}/still.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the camera's latest picture"},
        304: {"description": "the picture named by If-None-Match is still the latest"},
        404: {"description": "no picture of this camera yet"},
    },
)
def get_still(
    camera_id: str, session: SessionDep, principal: PrincipalDep, request: Request
) -> Response:
    """The camera's latest picture, a JPEG at most 640 wide (from its sub-stream where it
    sends one), at most about 10 s old while it is live; while it is offline, its last
    picture (`Last-Modified` says when). Asking is what keeps it fresh: a camera nobody
    asked about in the last minute gets no new pictures, so a first ask of a live camera
    may get 404 with `Retry-After` while its first picture is made."""
    camera = find_camera(session, camera_id)
    principal.check_site(camera.site_id)
    live = api_state(request).live
    if live is None:
        raise ServiceUnavailable("still pictures need the live services (Redis)")
    note_asked(live.redis, camera.id)
    found = read_still(live.redis, camera.id)
    if found is None:
        raise NotFoundRetry("no picture of this camera yet: one is made within seconds while "
                            "it publishes")  # fmt: skip
    jpeg, taken_at = found
    cache = f"private, max-age={STILL_MAX_AGE_S}"
    modified = formatdate(taken_at, usegmt=True)
    return jpeg_response(request, jpeg, cache, **{"Last-Modified": modified})


def live_sub_stream(client: redis.Redis, camera_id: str) -> StreamPublic | None:
    """The camera's sub-stream, while an edge holds its lease; None if Redis is away."""
    with contextlib.suppress(redis.RedisError):
        facts = live_facts(client, sub_stream_id(camera_id))
        if facts is not None:
            return StreamPublic(codec=facts.codec, width=facts.width, height=facts.height,
                                edge=facts.edge)  # fmt: skip
    return None


@router.patch("/{camera_id}")
def update_camera(
    camera_id: str, body: CameraUpdate, session: CameraWritesDep, settings: SettingsDep, _: AdminDep
) -> CameraPublic:
    camera = find_camera(session, camera_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "source_url" in changes:
        url = checked_source(changes.pop("source_url"), settings)
        store_source(camera, url, secret_box(settings))
    if "sub_source_url" in body.model_fields_set:  # null too: the sub-stream is forgotten
        raw = changes.pop("sub_source_url", None)
        if raw is not None and CameraMode(camera.mode) is CameraMode.PUSH:
            raise Unprocessable("sub_source_url is for pull cameras", ("body", "sub_source_url"))
        sub = None if raw is None else checked_source(raw, settings, "sub_source_url")
        store_sub_source(camera, sub, secret_box(settings))
    for name, value in changes.items():
        setattr(camera, name, value)
    camera_changed(session, camera.id)
    return to_public(camera, settings)


@router.post("/{camera_id}/disable")
def disable_camera(
    camera_id: str, session: CameraWritesDep, settings: SettingsDep, _: AdminDep
) -> CameraPublic:
    camera = find_camera(session, camera_id)
    camera.enabled = False
    camera_changed(session, camera.id)
    return to_public(camera, settings)


@router.delete("/{camera_id}", status_code=204)
def delete_camera(camera_id: str, session: CameraWritesDep, _: AdminDep) -> None:
    camera = find_camera(session, camera_id)
    session.delete(camera)
    camera_changed(session, camera.id)


def checked_source(raw: str, settings: ApiSettings, field: str = "source_url") -> PullUrl:
    """The URL parsed (the schema did) and its destination allowed, else a 422 saying why
    (located at `field`): checked here, before any edge could dial it."""
    url = parse_pull_url(raw)
    try:
        check_destination(
            url, refused=settings.pull_refused_networks, allowed=settings.pull_allowed_networks
        )
    except BadPullUrl as error:
        raise Unprocessable(str(error), ("body", field)) from None
    return url


def publish_path(camera: Camera) -> str:
    return f"/cam/{camera.id}"


def to_public(camera: Camera, settings: ApiSettings, admin: bool = True) -> CameraPublic:
    """`admin` False: without the pull sources (their path or query may hold a secret)."""
    push = CameraMode(camera.mode) is CameraMode.PUSH
    return CameraPublic(
        id=camera.id,
        site_id=camera.site_id,
        name=camera.name,
        mode=CameraMode(camera.mode),
        enabled=camera.enabled,
        publish_url=f"{settings.rtsp_public_url}{publish_path(camera)}" if push else None,
        sub_publish_url=f"{settings.rtsp_public_url}{publish_path(camera)}/sub" if push else None,
        rtsp_username=camera.rtsp_username if push else None,
        source_url=camera.source_url if admin else None,  # its credentials are sealed apart
        sub_source_url=camera.sub_source_url if admin else None,
        created_at=camera.created_at,
    )
