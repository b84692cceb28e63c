"""RTSP authentication against a camera's stored Digest HA1: Digest (RFC 2617, MD5, with or
without qop=auth) and Basic. Nonces are stateless: a timestamp and its HMAC, valid a while."""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time

NONCE_LIFETIME_S = 300
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class NonceIssuer:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, now: float | None = None) -> str:
        stamp = str(int(now if now is not None else time.time()))
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp}.{mac}"

    def valid(self, nonce: str, now: float | None = None) -> bool:
        stamp, _, mac = nonce.partition(".")
        if not (stamp.isascii() and stamp.isdigit()):
            return False
        expected = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        current = now if now is not None else time.time()
        return hmac.compare_digest(mac, expected) and current - int(stamp) < NONCE_LIFETIME_S


def digest_ha1(username: str, realm: str, password: str) -> str:
    """RFC 2617/7616 MD5 HA1: all the edge keeps of a camera's password, and all it needs to
    check Digest and Basic alike."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def challenges(realm: str, nonce: str) -> list[tuple[str, str]]:
    return [
        ("WWW-Authenticate", f'Digest realm="{realm}", nonce="{nonce}", algorithm="MD5"'),
        ("WWW-Authenticate", f'Basic realm="{realm}"'),
    ]


def check_authorization(
    header: str | None,
    *,
    method: str,
    username: str,
    ha1: str,
    realm: str,
    nonces: NonceIssuer,
) -> bool:
    if not header:
        return False
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "basic":
        return _check_basic(rest, username=username, ha1=ha1, realm=realm)
    if scheme.lower() == "digest":
        return _check_digest(rest, method=method, username=username, ha1=ha1, nonces=nonces)
    return False


def _check_basic(token: str, *, username: str, ha1: str, realm: str) -> bool:
    try:
        user, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, username) and hmac.compare_digest(
        digest_ha1(user, realm, password), ha1
    )


def _check_digest(
    params_text: str, *, method: str, username: str, ha1: str, nonces: NonceIssuer
) -> bool:
    params = {m.group(1).lower(): m.group(2) or m.group(3) for m in _PARAM.finditer(params_text)}
    required = ("username", "nonce", "uri", "response")
    if any(not params.get(name) for name in required):
        return False
    if not hmac.compare_digest(params["username"], username) or not nonces.valid(params["nonce"]):
        return False
    ha2 = _md5(f"{method}:{params['uri']}")
    if params.get("qop") == "auth":
        parts = [ha1, params["nonce"], params.get("nc", ""), params.get("cnonce", ""), "auth", ha2]
        expected = _md5(":".join(parts))
    else:
        expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
    return hmac.compare_digest(params["response"].lower(), expected)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Credentials:
    """The edge as an RTSP client (a pull camera): answers a camera's challenge, Digest
    (MD5, qop=auth or none) where offered, else Basic, on every request that follows it."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._challenge: dict[str, str] | None = None
        self._basic = False
        self._count = 0

    @property
    def ready(self) -> bool:
        return self._challenge is not None or self._basic

    def accept_challenge(self, headers: list[str]) -> bool:
        """Take the camera's WWW-Authenticate headers; False when none can be answered."""
        for header in headers:
            scheme, _, params = header.strip().partition(" ")
            if scheme.lower() == "digest":
                found = {m.group(1).lower(): m.group(2) or m.group(3)
                         for m in _PARAM.finditer(params)}  # fmt: skip
                if found.get("nonce") and found.get("realm") is not None:
                    self._challenge, self._count = found, 0
                    return True
        self._basic = any(h.strip().lower().startswith("basic") for h in headers)
        return self._basic

    def authorization(self, method: str, uri: str) -> str:
        if self._challenge is None:
            pair = f"{self._username}:{self._password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        challenge = self._challenge
        ha1 = digest_ha1(self._username, challenge["realm"], self._password)
        ha2 = _md5(f"{method}:{uri}")
        fields = [f'username="{self._username}"', f'realm="{challenge["realm"]}"',
                  f'nonce="{challenge["nonce"]}"', f'uri="{uri}"']  # fmt: skip
        if "auth" in challenge.get("qop", "").split(","):
            self._count += 1
            count, cnonce = f"{self._count:08x}", secrets.token_hex(8)
            parts = [ha1, challenge["nonce"], count, cnonce, "auth", ha2]
            fields += [f'response="{_md5(":".join(parts))}"', "qop=auth", f"nc={count}",
                       f'cnonce="{cnonce}"']  # fmt: skip
        else:
            nonce = challenge["nonce"]
            fields.append(f'response="{_md5(ha1 + ":" + nonce + ":" + ha2)}"')
        if "opaque" in challenge:
            fields.append(f'opaque="{challenge["opaque"]}"')
        return "Digest " + ", ".join([*fields, "algorithm=MD5"])
