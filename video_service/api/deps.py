"""Shared dependencies of the routes: the database session, the settings, the caller, and the
services the app holds (as Annotated aliases, or plain functions of the request for the
paths served before FastAPI's routing)."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from video_service.api.auth import Principal, bearer_key_hash, find_principal
from video_service.api.errors import NotAuthenticated, ServiceUnavailable
from video_service.api.events import EventBuffer
from video_service.api.live import LiveServices
from video_service.api.lookups import Lookups
from video_service.api.settings import ApiSettings
from video_service.delivery.playback import Delivery


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session, session.begin():
        yield session


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


# scope="function": commit before the response is sent, so that a client that was told
# "created" or "deleted" finds it so on its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
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


def live_services(request: Request) -> LiveServices:
    live: LiveServices | None = request.app.state.live
    if live is None:
        raise ServiceUnavailable("live services are not configured on this API")
    return live


def lookups_of(request: Request) -> Lookups:
    lookups: Lookups = request.app.state.lookups
    return lookups


def events_of(request: Request) -> EventBuffer:
    events: EventBuffer = request.app.state.events
    return events


def delivery_of(request: Request) -> Delivery:
    delivery: Delivery = request.app.state.delivery
    return delivery


LiveDep = Annotated[LiveServices, Depends(live_services)]
DeliveryDep = Annotated[Delivery, Depends(delivery_of)]
EventsDep = Annotated[EventBuffer, Depends(events_of)]
