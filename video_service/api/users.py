"""The console's users: people who sign in with a name and a password (machines use API
keys). Passwords are hashed with argon2id (19 MiB, 2 passes), and a hash made with other
parameters is made again at the next sign-in.

A user is a `Principal` like a key: an admin may do everything, an operator what a viewer
key of their sites may (watch, events, recordings, exports)."""

import re
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.api.errors import Conflict, Unprocessable
from video_service.api.models import Role, Scope, Site, User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a 10 MB "password" out
# RFC 9106's second choice and OWASP's floor: 19 MiB and 2 passes a check (argon2-cffi's
# default 64 MiB let 16 sign-ins at once take a gigabyte); at most PASSWORD_CHECKS_AT_ONCE
# run at once in a process (`routes/session`).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the name is unknown, so that a wrong name costs what a wrong
# password does (no telling which names exist by the time an answer takes).
_NOBODY = _HASHER.hash("no one has this password")


def hash_password(password: str) -> str:
    check_password(password)
    return _HASHER.hash(password)


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Unprocessable(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", ("body", "password")
        )


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise Unprocessable(
            "a username has 1 to 64 letters, digits and . _ @ - (a letter or digit first)",
            ("body", "username"),
        )


def verified_user(session: Session, username: str, password: str) -> User | None:
    """The enabled user with this name and password, or None (the same time either way)."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _HASHER.verify(user.password_hash if user is not None else _NOBODY, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.enabled:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def create_user(
    session: Session, username: str, role: Role, site_ids: Sequence[str], password: str
) -> User:
    check_username(username)
    found_sites = known_sites(session, site_ids)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"there is a user {username} already")
    user = User(username=username, password_hash=hash_password(password), role=role,
                site_ids=found_sites, enabled=True, layouts=[], session_epoch=0)  # fmt: skip
    session.add(user)
    session.flush()
    return user


def known_sites(session: Session, site_ids: Sequence[str]) -> list[str]:
    """The sites, each of which exists; else a 422 naming the ones that do not."""
    wanted = list(dict.fromkeys(site_ids))
    found = set(session.scalars(select(Site.id).where(Site.id.in_(wanted)))) if wanted else set()
    missing = [site for site in wanted if site not in found]
    if missing:
        raise Unprocessable(f"no such site: {', '.join(missing)}", ("body", "site_ids"))
    return wanted


def scope_of(role: Role) -> Scope:
    """What a user may do, as a key's scope: an operator is a viewer of their sites."""
    return Scope.ADMIN if role is Role.ADMIN else Scope.VIEWER
