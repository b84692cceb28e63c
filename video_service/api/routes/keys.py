"""API keys, created by an admin; the key is shown once and stored hashed."""

from fastapi import APIRouter

from video_service.api.deps import AdminDep, SessionDep
from video_service.api.errors import Unprocessable
from video_service.api.keys import UnknownSites, create_key
from video_service.api.schemas import KeyCreate, KeyCreated

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post("", status_code=201)
def post_key(body: KeyCreate, session: SessionDep, _: AdminDep) -> KeyCreated:
    try:
        return create_key(session, body)
    except UnknownSites as error:
        raise Unprocessable(str(error), ("body", "site_ids")) from error
