"""Shared dependencies of the routes: the database session, the settings, the caller, and the
services the app holds (as Annotated aliases, or plain functions of the request for the
paths served before FastAPI's routing)."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from video_service.api.auth import Principal, bearer_key_hash, find_principal
from video_service.api.errors import NotAuthenticated, NotFound, ServiceUnavailable
from video_service.api.event_stream import EventStream
from video_service.api.events import EventBuffer
from video_service.api.live import LiveServices
from video_service.api.lookups import CameraSites, Lookups
from video_service.api.models import Camera, Site
from video_service.api.settings import ApiSettings
from video_service.api.state import api_state
from video_service.delivery.playback import Delivery

# Which request holds the slot in this context (its threads inherit it): for the log and
# for the test that no request ever holds two connections.
current_request: ContextVar[object | None] = ContextVar("current_request", default=None)


async def database_slot(request: Request) -> AsyncIterator[None]:
    """One of the pool's connections for this request: a request that finds none free
    waits here, on the event loop, rather than in a thread on the pool (see `app`)."""
    async with api_state(request).db_slots:
        current_request.set(request)
        yield


SlotDep = Annotated[None, Depends(database_slot, scope="function")]


def get_session(request: Request, _: SlotDep) -> Iterator[Session]:
    """The request's one session (so, at most one connection); once it has committed, the
    cached lists it changed are invalidated (see `writes`)."""
    with api_state(request).sessions() as session:
        with session.begin():
            yield session
        if tags := session.info.get(_INVALIDATES):
            api_state(request).invalidate(*sorted(tags))
        if cameras := session.info.get(_CAMERAS_CHANGED):
            api_state(request).cameras_changed(sorted(cameras))


def get_settings(request: Request) -> ApiSettings:
    return api_state(request).settings


# scope="function": commit before the response is sent, so that a client that was told
# "created" or "deleted" finds it so on its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_INVALIDATES = "invalidates"
_CAMERAS_CHANGED = "cameras_changed"


def camera_changed(session: Session, camera_id: str) -> None:
    """Once the session has committed, every edge hears that the camera changed (disabled,
    deleted, another source: `workers.base.notices`) and checks it at once."""
    session.info.setdefault(_CAMERAS_CHANGED, set()).add(camera_id)


def writes(*tags: str) -> Callable[[Session], Session]:
    """The request's session, marked to invalidate the cached lists of `tags` once it has
    committed (`response_cache`): after the commit, so that a reader can never cache the
    old rows anew."""

    def get(session: SessionDep) -> Session:
        session.info.setdefault(_INVALIDATES, set()).update(tags)
        return session

    return get


SiteWritesDep = Annotated[Session, Depends(writes("sites"), scope="function")]
CameraWritesDep = Annotated[Session, Depends(writes("cameras"), scope="function")]
EventWritesDep = Annotated[Session, Depends(writes("events"), scope="function")]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    principal = find_principal(session, bearer_key_hash(request.headers.get("authorization", "")))
    if principal is None:
        raise NotAuthenticated("unknown API key")
    return principal


def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.check_admin()
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]


async def caller(request: Request) -> Principal:
    """The caller, from the per-process cache of keys (`lookups`): for the routes a player
    or a dashboard asks often. A dependency, so that a missing or unknown key is a 401
    before any query parameter is judged."""
    return await lookups_of(request).principal(request.headers.get("authorization", ""))


CallerDep = Annotated[Principal, Depends(caller)]


def live_services(request: Request) -> LiveServices:
    live = api_state(request).live
    if live is None:
        raise ServiceUnavailable("live services are not configured on this API")
    return live


def lookups_of(request: Request) -> Lookups:
    return api_state(request).lookups


def events_of(request: Request) -> EventBuffer:
    return api_state(request).events


def camera_sites_of(request: Request) -> CameraSites:
    return api_state(request).camera_sites


def stream_of(request: Request) -> EventStream:
    return api_state(request).event_stream


def delivery_of(request: Request) -> Delivery:
    return api_state(request).delivery


LiveDep = Annotated[LiveServices, Depends(live_services)]
DeliveryDep = Annotated[Delivery, Depends(delivery_of)]
EventsDep = Annotated[EventBuffer, Depends(events_of)]


def find_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def find_camera(session: Session, camera_id: str) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise NotFound(f"no camera {camera_id}")
    return camera
