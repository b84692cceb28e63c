"""Secrets: API keys (stored as SHA-256: they are 256 random bits, so a slow hash buys
nothing), camera passwords (only their RTSP Digest HA1 is kept), constant-time compares."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "sv_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def digest_ha1(username: str, realm: str, password: str) -> str:
    # RFC 2617/7616 MD5 HA1: what the edge needs to check Digest and Basic alike.
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
