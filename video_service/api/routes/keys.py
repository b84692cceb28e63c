"""API keys, created, listed and revoked by an admin; the key is shown once and stored
hashed. A key revoked, or expired, is refused by every API process within a second (each
remembers a key it has checked for half a second: `api.lookups`)."""

from fastapi import APIRouter

from video_service.api.deps import AdminDep, SessionDep
from video_service.api.errors import NotFound, UnknownSites, Unprocessable
from video_service.api.keys import create_key, key_public, list_keys, revoke_key
from video_service.api.schemas import KeyCreate, KeyCreated, KeysPublic

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post("", status_code=201)
def post_key(body: KeyCreate, session: SessionDep, _: AdminDep) -> KeyCreated:
    try:
        return create_key(session, body)
    except UnknownSites as error:
        raise Unprocessable(str(error), ("body", "site_ids")) from error


@router.get("")
def get_keys(session: SessionDep, _: AdminDep) -> KeysPublic:
    """Every key, without its secret (only its hash is kept)."""
    return KeysPublic(data=[key_public(record) for record in list_keys(session)])


@router.delete("/{key_id}", status_code=204)
def delete_key(key_id: str, session: SessionDep, _: AdminDep) -> None:
    if not revoke_key(session, key_id):
        raise NotFound(f"no key {key_id}")
