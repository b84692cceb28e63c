"""The console's users, managed by an admin (a key or a signed-in admin): created with a
password, listed, changed, disabled and deleted. Disabling or deleting a user, or changing
their role, sites or password, ends their sessions: the change starts a new session epoch
(sessions of an older one are nobody, even one signed in while the change was on its way),
and every API process refuses their next request within a second (`lookups` keeps a caller
half a second)."""

from fastapi import APIRouter, Request
from sqlalchemy import select

from video_service.api.deps import AdminDep, SessionDep
from video_service.api.errors import NotFound
from video_service.api.models import User
from video_service.api.routes.session import web_sessions_of
from video_service.api.schemas import UserCreate, UserPublic, UsersPublic, UserUpdate
from video_service.api.state import api_state
from video_service.api.users import create_user, hash_password, known_sites

router = APIRouter(prefix="/api/users", tags=["users"])


@router.post("", status_code=201)
def post_user(body: UserCreate, session: SessionDep, _: AdminDep) -> UserPublic:
    user = create_user(session, body.username, body.role, body.site_ids, body.password)
    return UserPublic.model_validate(user)


@router.get("")
def get_users(session: SessionDep, _: AdminDep) -> UsersPublic:
    users = session.scalars(select(User).order_by(User.created_at, User.id))
    return UsersPublic(data=[UserPublic.model_validate(user) for user in users])


@router.patch("/{user_id}")
def patch_user(
    user_id: str, body: UserUpdate, request: Request, session: SessionDep, _: AdminDep
) -> UserPublic:
    user = _find(session, user_id)
    if body.site_ids is not None:
        user.site_ids = known_sites(session, body.site_ids)
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    if body.role is not None:
        user.role = body.role
    if body.enabled is not None:
        user.enabled = body.enabled
    if body.model_fields_set - {"enabled"} or body.enabled is False:
        # Every session signed in before is nobody from the commit on, whatever races it;
        # the sessions themselves are dropped too.
        user.session_epoch += 1
        _end_sessions(request, user.id)
    return UserPublic.model_validate(user)


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: str, request: Request, session: SessionDep, _: AdminDep) -> None:
    user = _find(session, user_id)
    session.delete(user)
    _end_sessions(request, user.id)


def _find(session: SessionDep, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _end_sessions(request: Request, user_id: str) -> None:
    if api_state(request).web_sessions is not None:
        web_sessions_of(request).end_all(user_id)
