"""Who is calling: the API key in `Authorization: Bearer <key>`, found by its hash; or a
user signed in to the console, whose session cookie `session_cookies` has turned into
`Authorization: User <id>.<mac>` (a MAC of this process's, so no client can send one)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.api.errors import Forbidden, NotAuthenticated
from video_service.api.models import ApiKey, Role, Scope, Site, User
from video_service.api.security import hash_api_key
from video_service.api.users import scope_of

USER = "user:"  # a signed-in user's credential, beside keys' hashes (hex: never "user:")
_MAC_KEY = secrets.token_bytes(32)  # this process's: made by the middleware, read here


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


def user_authorization(user_id: str, epoch: int, session_hash: str) -> str:
    """The header a signed-in user's requests carry inside this process: who, the user's
    session epoch when they signed in (a password, role, sites or enabled change starts a
    new one: older sessions are nobody), and which session (an event stream checks it)."""
    signed = f"{user_id}.{epoch}.{session_hash}"
    return f"User {signed}.{_mac(signed)}"


def _mac(text: str) -> str:
    return hmac.new(_MAC_KEY, text.encode(), hashlib.sha256).hexdigest()


def user_session_hash(credential: str) -> str | None:
    """The session a signed-in user's credential (`bearer_key_hash`'s) names; None for a key."""
    if not credential.startswith(USER):
        return None
    return credential.removeprefix(USER).split(".")[2]


def bearer_key_hash(authorization: str) -> str:
    """What names the caller: the hash of the key in `Authorization: Bearer <key>` (what the
    database keeps), or `user:<id>` for a signed-in user."""
    scheme, _, key = authorization.partition(" ")
    if scheme == "User":
        signed, _, mac = key.rpartition(".")
        if signed.count(".") == 2 and hmac.compare_digest(mac, _mac(signed)):
            return USER + signed
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthenticated("sign in, or send an API key: Authorization: Bearer <key>")
    return hash_api_key(key.strip())


def find_principal(session: Session, key_hash: str) -> Principal | None:
    """The key's holder (or the user), with the sites it names that still exist; None for a
    key we do not know, one that has expired, or a user disabled or deleted."""
    if key_hash.startswith(USER):
        user_id, epoch, _ = key_hash.removeprefix(USER).split(".")
        return _user_principal(session, user_id, int(epoch))
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if found is None or _expired(found.expires_at):
        return None
    return Principal(found.id, Scope(found.scope), _existing(session, found.site_ids))


def _user_principal(session: Session, user_id: str, epoch: int) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.enabled or user.session_epoch != epoch:
        return None
    return Principal(USER + user.id, scope_of(Role(user.role)), _existing(session, user.site_ids))


def _existing(session: Session, site_ids: list[str] | None) -> frozenset[str]:
    """A site deleted since the key (or user) was given it is no longer one of its sites."""
    named = frozenset(site_ids or [])
    if not named:
        return named
    return frozenset(session.scalars(select(Site.id).where(Site.id.in_(named))))


def _expired(expires_at: datetime | None) -> bool:
    if expires_at is None:
        return False
    aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)  # SQLite's
    return aware <= datetime.now(UTC)
