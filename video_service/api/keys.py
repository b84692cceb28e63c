"""API keys: created from the CLI, from SPARC_ADMIN_KEY at start-up, or by an admin; listed
(never with their secret); revoked (their hash remembered, so that a revoked key is never
installed again), or expiring by themselves."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.api.errors import UnknownSites
from video_service.api.models import ApiKey, RevokedKey, Scope, Site
from video_service.api.schemas import KeyCreate, KeyCreated, KeyPublic
from video_service.api.security import generate_api_key, hash_api_key


def create_key(session: Session, request: KeyCreate, key: str | None = None) -> KeyCreated:
    if request.scope is Scope.VIEWER:
        if not request.site_ids:
            raise UnknownSites("a viewer key needs at least one site")
        known = set(session.scalars(select(Site.id).where(Site.id.in_(request.site_ids))))
        missing = sorted(set(request.site_ids) - known)
        if missing:
            raise UnknownSites(f"no such site: {', '.join(missing)}")
    secret = key or generate_api_key()
    expires = request.expires_in_days
    record = ApiKey(
        name=request.name,
        key_hash=hash_api_key(secret),
        scope=request.scope,
        site_ids=list(request.site_ids),
        expires_at=datetime.now(UTC) + timedelta(days=expires) if expires else None,
    )
    session.add(record)
    session.flush()
    return KeyCreated(**key_public(record).model_dump(), key=secret)


def list_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()


def revoke_key(session: Session, key_id: str) -> bool:
    found = session.get(ApiKey, key_id)
    if found is None:
        return False
    session.merge(RevokedKey(key_hash=found.key_hash))
    session.delete(found)
    return True


def key_public(record: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=record.id,
        name=record.name,
        scope=Scope(record.scope),
        site_ids=list(record.site_ids or []),
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


def ensure_key(session: Session, key: str, name: str) -> bool:
    """Install a configured admin key once (SPARC_ADMIN_KEY); never one that was revoked.
    Whether the key is installed (now or before)."""
    key_hash = hash_api_key(key)
    if session.get(RevokedKey, key_hash) is not None:
        return False
    if session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash)) is None:
        create_key(session, KeyCreate(name=name, scope=Scope.ADMIN), key=key)
    return True
