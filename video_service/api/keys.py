"""Create API keys: from the CLI, from SPARC_ADMIN_KEY at start-up, or by an admin."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.api.models import ApiKey, Scope, Site
from video_service.api.schemas import KeyCreate, KeyCreated
from video_service.api.security import generate_api_key, hash_api_key


class UnknownSites(ValueError):
    pass


def create_key(session: Session, request: KeyCreate, key: str | None = None) -> KeyCreated:
    if request.scope is Scope.VIEWER:
        if not request.site_ids:
            raise UnknownSites("a viewer key needs at least one site")
        known = set(session.scalars(select(Site.id).where(Site.id.in_(request.site_ids))))
        missing = sorted(set(request.site_ids) - known)
        if missing:
            raise UnknownSites(f"no such site: {', '.join(missing)}")
    secret = key or generate_api_key()
    record = ApiKey(
        name=request.name,
        key_hash=hash_api_key(secret),
        scope=request.scope,
        site_ids=list(request.site_ids),
    )
    session.add(record)
    session.flush()
    return KeyCreated(
        id=record.id, name=record.name, scope=request.scope, site_ids=record.site_ids, key=secret
    )


def ensure_key(session: Session, key: str, name: str) -> None:
    """Install a configured admin key once (SPARC_ADMIN_KEY)."""
    if session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))) is None:
        create_key(session, KeyCreate(name=name, scope=Scope.ADMIN), key=key)
