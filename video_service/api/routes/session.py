"""Signing in to the console: `POST /api/session` with a name and a password sets the session
cookie (`HttpOnly`, `SameSite=Strict`, `Secure` where the public URL is https); `GET` says who
is signed in; `DELETE` signs out. Sessions live in Redis (`web_sessions`)."""

import threading

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from video_service.api.deps import SessionDep, SettingsDep
from video_service.api.errors import (
    ErrorPublic,
    Forbidden,
    NotAuthenticated,
    ServiceUnavailable,
    TooManyRequests,
)
from video_service.api.models import Role, User
from video_service.api.schemas import SessionPublic, SignIn, WallLayouts
from video_service.api.session_cookies import origin_of, session_token
from video_service.api.settings import ApiSettings
from video_service.api.state import api_state
from video_service.api.users import verified_user
from video_service.api.web_sessions import COOKIE, WebSessions

router = APIRouter(prefix="/api/session", tags=["session"])
PASSWORD_CHECKS_AT_ONCE = 4  # per process: argon2 takes 19 MiB a check
_CHECKS = threading.BoundedSemaphore(PASSWORD_CHECKS_AT_ONCE)


def web_sessions_of(request: Request) -> WebSessions:
    found = api_state(request).web_sessions
    if found is None:
        raise ServiceUnavailable("signing in needs the live services (Redis)")
    return found


@router.post(
    "",
    responses={
        429: {"model": ErrorPublic, "description": "too many failed sign-ins: wait"},
        503: {"model": ErrorPublic, "description": "too many sign-ins at once, or no Redis"},
    },
)
async def sign_in(
    body: SignIn, request: Request, response: Response, settings: SettingsDep
) -> SessionPublic:
    """Wrong name or password: 401 (which of them is not said). Too many failures (5 for
    the name from this address, 50 from the address, 100 for the name) in 15 minutes:
    429 with Retry-After, before any check. More than PASSWORD_CHECKS_AT_ONCE sign-ins
    at once in this process: 503 with Retry-After (each check takes 19 MiB)."""
    web = web_sessions_of(request)
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != origin_of(settings.public_url):
        raise Forbidden("signing in must come from the console's own origin")
    address = request.client.host if request.client else "unknown"
    wait_s = await run_in_threadpool(web.attempt, body.username, address)
    if wait_s:
        refused = TooManyRequests(f"too many failed sign-ins: try again in {wait_s} s")
        refused.retry_after_s = wait_s
        raise refused
    if not _CHECKS.acquire(blocking=False):
        await run_in_threadpool(web.not_tried, body.username, address)
        busy = ServiceUnavailable("too many sign-ins at once: try again in a second")
        busy.retry_after_s = 1
        raise busy
    try:
        user = await run_in_threadpool(_verified, request, body)
    finally:
        _CHECKS.release()
    if user is None:
        raise NotAuthenticated("wrong username or password")
    await run_in_threadpool(web.succeeded, body.username, address)
    token = await run_in_threadpool(web.start, user.id, user.session_epoch)
    _set_cookie(response, token, settings)
    return user_session(user)


def _verified(request: Request, body: SignIn) -> User | None:
    state = api_state(request)
    with state.sessions() as session, session.begin():
        user = verified_user(session, body.username, body.password)
        if user is not None:
            session.expunge(user)
        return user


@router.get("")
def who(request: Request, session: SessionDep) -> SessionPublic:
    """Who is signed in; 401 when no one is (an API key is not a session)."""
    return user_session(_user(request, session))


@router.delete("", status_code=204)
def sign_out(request: Request, response: Response, settings: SettingsDep) -> None:
    token = session_token(request.scope["headers"])
    if token is not None:
        web_sessions_of(request).end(token)
    response.delete_cookie(COOKIE, path="/", secure=_secure(settings), httponly=True,
                           samesite="strict")  # fmt: skip


@router.get("/layouts")
def get_layouts(request: Request, session: SessionDep) -> WallLayouts:
    """The wall layouts the signed-in user saved."""
    return WallLayouts.model_validate({"layouts": _user(request, session).layouts or []})


@router.put("/layouts")
def put_layouts(body: WallLayouts, request: Request, session: SessionDep) -> WallLayouts:
    """Replace the signed-in user's saved layouts (at most 50); each names a site they see."""
    user = _user(request, session)
    seen = set(user.site_ids)
    for index, layout in enumerate(body.layouts):
        if Role(user.role) is not Role.ADMIN and layout.site_id not in seen:
            raise Forbidden(f"layout {index}: that site is not yours to see")
    user.layouts = [layout.model_dump() for layout in body.layouts]
    return body


def _user(request: Request, session: SessionDep) -> User:
    user = _signed_in(request, session)
    if user is None:
        raise NotAuthenticated("not signed in (layouts are a signed-in user's)")
    return user


def _signed_in(request: Request, session: SessionDep) -> User | None:
    token = session_token(request.scope["headers"])
    found = web_sessions_of(request).find(token) if token is not None else None
    if found is None:
        return None
    user = session.get(User, found.user_id)
    if user is None or not user.enabled or user.session_epoch != found.epoch:
        return None
    return user


def user_session(user: User) -> SessionPublic:
    return SessionPublic(username=user.username, role=Role(user.role), site_ids=user.site_ids)


def _set_cookie(response: Response, token: str, settings: ApiSettings) -> None:
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=_secure(settings))  # fmt: skip


def _secure(settings: ApiSettings) -> bool:
    return settings.public_url.lower().startswith("https://")
