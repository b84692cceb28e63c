"""Shared dependencies: the database session and the caller's key, as Annotated aliases."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.errors import Forbidden, NotAuthenticated
from video_service.models import ApiKey, Scope
from video_service.security import hash_api_key
from video_service.settings import ApiSettings


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


@dataclass(frozen=True)
class Principal:
    key_id: str
    scope: Scope
    site_ids: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.scope is Scope.ADMIN

    def check_site(self, site_id: str) -> None:
        if not self.is_admin and site_id not in self.site_ids:
            raise Forbidden("this key may not see that site")


def bearer_key_hash(authorization: str) -> str:
    """The hash of the key in `Authorization: Bearer <key>` (what the database keeps)."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthenticated("an API key is required: Authorization: Bearer <key>")
    return hash_api_key(key.strip())


def find_principal(session: Session, key_hash: str) -> Principal | None:
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if found is None:
        return None
    return Principal(found.id, Scope(found.scope), frozenset(found.site_ids or []))


def get_principal(request: Request, session: SessionDep) -> Principal:
    principal = find_principal(session, bearer_key_hash(request.headers.get("authorization", "")))
    if principal is None:
        raise NotAuthenticated("unknown API key")
    return principal


def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs an admin key")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
