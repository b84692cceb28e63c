"""Secrets: API keys (stored as SHA-256: they are 256 random bits, so a slow hash buys
nothing) and camera passwords (only their RTSP Digest HA1 is kept: `edge.digest`)."""

import hashlib
import secrets

KEY_PREFIX = "sv_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(18)
