"""URL signers, one per scheme: each grants access to every URI under a stream's path until
an expiry, and gives the query string that a URI with a given path must carry.

- CloudFront: a custom policy whose resource is a wildcard over the stream's path, signed
  RSA-SHA1 (PKCS#1 v1.5), in CloudFront's URL-safe base64; one query serves every URI.
- Akamai EdgeAuth 2.0: an ACL token `st=..~exp=..~acl=PREFIX*~hmac=..` (HMAC-SHA256 with the
  hex key) under the configured token name (default `hdnts`); one query serves every URI.
- Fastly: `token=EXPIRY_HEX` with HEX the HMAC-SHA1 of the path followed by the expiry, as
  Fastly's documented token-validation VCL checks it; one token per URI.
- Origin: the embedded origin's own HMAC-SHA256 token over the stream's path and expiry,
  which `OriginSigner.verify` checks.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdn.errors import SigningError, TokenRejected
from cdn.providers import Provider, Scheme


@dataclass(frozen=True)
class StreamGrant:
    """Access to every URI under `prefix` (a path ending in '/') until `expires` (epoch s)."""

    prefix: str
    expires: int


def grant_for(prefix: str, *, now: float, ttl_s: int, window_s: int) -> StreamGrant:
    """Expiry rounded up to a window boundary, so that tokens (and the playlists carrying
    them) stay identical for a whole window and can be cached."""
    expires = math.ceil((now + ttl_s) / window_s) * window_s
    return StreamGrant(prefix if prefix.endswith("/") else prefix + "/", int(expires))


class UrlSigner(Protocol):
    def query(self, path: str, grant: StreamGrant) -> str: ...


def build_signer(provider: Provider) -> UrlSigner:
    secret = provider.secret.get_secret_value() if provider.secret else ""
    if not secret:
        raise SigningError(f"CDN provider {provider.name} has no signing secret configured")
    if provider.scheme is Scheme.CLOUDFRONT:
        if not provider.key_id:
            raise SigningError(f"CloudFront provider {provider.name} needs key_id")
        return CloudFrontSigner(provider.key_id, secret, provider.base_url)
    if provider.scheme is Scheme.AKAMAI:
        return AkamaiSigner(secret, provider.token_name)
    if provider.scheme is Scheme.FASTLY:
        return FastlySigner(secret)
    return OriginSigner(secret)


class CloudFrontSigner:
    def __init__(self, key_id: str, private_key_pem: str, base_url: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError("a CloudFront key must be an RSA private key")
        self._key = key
        self._key_id = key_id
        self._base_url = base_url
        self._queries: dict[StreamGrant, str] = {}

    def query(self, path: str, grant: StreamGrant) -> str:
        if grant not in self._queries:
            self._queries = {grant: self._build_query(grant)}  # one grant in use at a time
        return self._queries[grant]

    def _build_query(self, grant: StreamGrant) -> str:
        policy = build_cloudfront_policy(f"{self._base_url}{grant.prefix}*", grant.expires)
        signature = self._key.sign(policy.encode(), padding.PKCS1v15(), hashes.SHA1())
        encoded_policy = cloudfront_b64(policy.encode())
        return (
            f"Policy={encoded_policy}&Signature={cloudfront_b64(signature)}"
            f"&Key-Pair-Id={self._key_id}"
        )


def build_cloudfront_policy(resource: str, expires: int) -> str:
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":"))


def cloudfront_b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return encoded.replace("+", "-").replace("=", "_").replace("/", "~")


class AkamaiSigner:
    def __init__(self, key_hex: str, token_name: str = "hdnts") -> None:
        try:
            self._key = binascii.a2b_hex(key_hex)
        except binascii.Error as error:
            raise SigningError("the Akamai EdgeAuth key must be hex") from error
        self._token_name = token_name

    def query(self, path: str, grant: StreamGrant) -> str:
        return f"{self._token_name}={self.token(grant)}"

    def token(self, grant: StreamGrant, start: int | None = None) -> str:
        fields = [f"st={start}"] if start is not None else []
        fields += [f"exp={grant.expires}", f"acl={grant.prefix}*"]
        mac = hmac.new(self._key, "~".join(fields).encode(), hashlib.sha256).hexdigest()
        return "~".join([*fields, f"hmac={mac}"])


class FastlySigner:
    def __init__(self, key_b64: str) -> None:
        try:
            self._key = base64.b64decode(key_b64, validate=True)
        except binascii.Error as error:
            raise SigningError("the Fastly token key must be base64") from error

    def query(self, path: str, grant: StreamGrant) -> str:
        mac = hmac.new(self._key, f"{path}{grant.expires}".encode(), hashlib.sha1).hexdigest()
        return f"token={grant.expires}_{mac}"


class OriginSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def query(self, path: str, grant: StreamGrant) -> str:
        return f"token={self.token(grant)}"

    def token(self, grant: StreamGrant) -> str:
        payload = f"{grant.expires}:{grant.prefix}"
        encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{encoded}.{self._mac(payload)}"

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def verify(self, path: str, token: str, *, now: float) -> StreamGrant:
        """The grant a request for `path` carries, or TokenRejected saying why not."""
        encoded, _, mac = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            expires_text, _, prefix = payload.partition(":")
            expires = int(expires_text)
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise TokenRejected("malformed token") from error
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise TokenRejected("forged token")
        if expires <= now:
            raise TokenRejected("expired token")
        if not path.startswith(prefix):
            raise TokenRejected("token for another stream")
        return StreamGrant(prefix, expires)
