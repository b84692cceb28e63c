"""Secrets at rest: what must be stored but not readable from the store alone (a pull
camera's credentials) is encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from
`cryptography`) under the deployment's key (`SPARC_SECRET_KEY`, else a key kept in the state
directory, mode 0600). The origin token secret (`SPARC_ORIGIN_SECRET`, else kept in the state
directory the same way) signs what viewers are handed: the origin's playlist tokens, the
edge's live-view (WHEP) tokens."""

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from workers.base.errors import SecretsUnreadable
from workers.base.settings import Settings

KEY_FILE = "secret.key"
ORIGIN_KEY_FILE = "origin.key"


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretsUnreadable("a stored secret does not open with this key") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        return SecretBox(settings.secret_key.get_secret_value())
    path = settings.state_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_private(path, new_key())
    return SecretBox(path.read_text().strip())


def origin_secret(settings: Settings) -> str:
    if settings.origin_secret is not None:
        return settings.origin_secret.get_secret_value()
    path = settings.state_dir / ORIGIN_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
