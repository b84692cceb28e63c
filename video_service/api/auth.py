"""Who is calling: the API key in `Authorization: Bearer <key>`, found by its hash."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.api.errors import Forbidden, NotAuthenticated
from video_service.api.models import ApiKey, Scope, Site
from video_service.api.security import hash_api_key


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

    def check_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs an admin key")


def bearer_key_hash(authorization: str) -> str:
    """The hash of the key in `Authorization: Bearer <key>` (what the database keeps)."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthenticated("an API key is required: Authorization: Bearer <key>")
    return hash_api_key(key.strip())


def find_principal(session: Session, key_hash: str) -> Principal | None:
    """The key's holder, with the sites it names that still exist; None for a key we do not
    know, or one that has expired."""
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if found is None or _expired(found.expires_at):
        return None
    named = frozenset(found.site_ids or [])
    # A site deleted since the key was made is no longer one of its sites.
    sites = (
        frozenset(session.scalars(select(Site.id).where(Site.id.in_(named)))) if named else named
    )
    return Principal(found.id, Scope(found.scope), sites)


def _expired(expires_at: datetime | None) -> bool:
    if expires_at is None:
        return False
    aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)  # SQLite's
    return aware <= datetime.now(UTC)
