import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime

import pytest
from akamai.edgeauth import EdgeAuth
from botocore.signers import CloudFrontSigner as BotocoreSigner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdn.errors import SigningError, TokenRejected
from cdn.providers import Provider, Scheme
from cdn.signing import (
    AkamaiSigner,
    CloudFrontSigner,
    FastlySigner,
    OriginSigner,
    StreamGrant,
    build_signer,
    grant_for,
)

GRANT = StreamGrant("/live/cam-1/", 1_900_000_000)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def test_cloudfront_matches_botocore_and_verifies_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    base = "https://d111111abcdef8.cloudfront.net"
    signer = CloudFrontSigner("K2JCJMDEHXQW5F", pem(rsa_key), base)
    url = f"{base}/live/cam-1/720p/index.m3u8"
    ours = f"{url}?{signer.query('/live/cam-1/720p/index.m3u8', GRANT)}"

    def rsa_signer(message: bytes) -> bytes:
        return rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    reference = BotocoreSigner("K2JCJMDEHXQW5F", rsa_signer)
    expiry = datetime.fromtimestamp(GRANT.expires, tz=UTC)
    policy = reference.build_policy(f"{base}/live/cam-1/*", expiry)
    assert ours == reference.generate_presigned_url(url, policy=policy)

    query = dict(part.split("=", 1) for part in ours.split("?", 1)[1].split("&"))
    policy_bytes = cloudfront_b64decode(query["Policy"])
    statement = json.loads(policy_bytes)["Statement"][0]
    assert statement["Resource"] == f"{base}/live/cam-1/*"
    assert statement["Condition"]["DateLessThan"]["AWS:EpochTime"] == GRANT.expires
    public = rsa_key.public_key()
    public.verify(
        cloudfront_b64decode(query["Signature"]), policy_bytes, padding.PKCS1v15(), hashes.SHA1()
    )
    with pytest.raises(InvalidSignature):
        public.verify(
            cloudfront_b64decode(query["Signature"]),
            policy_bytes.replace(b"cam-1", b"cam-2"),
            padding.PKCS1v15(),
            hashes.SHA1(),
        )


def test_akamai_acl_token_matches_the_reference_edgeauth() -> None:
    key = "52a152a152a152a152a152a152a1"
    ours = AkamaiSigner(key).token(GRANT, start=1_899_990_000)
    reference = EdgeAuth(key=key, token_name="hdnts", start_time=1_899_990_000,
                         end_time=GRANT.expires)  # fmt: skip
    assert ours == reference.generate_acl_token("/live/cam-1/*")
    assert AkamaiSigner(key).query("/any", GRANT).startswith("hdnts=exp=1900000000~acl=/live/")
    assert AkamaiSigner(key, "token").query("/any", GRANT).startswith("token=")


def fastly_vcl_accepts(url: str, key: bytes, now: int) -> bool:
    """Fastly's documented token-validation VCL, step for step."""
    match = re.match(r".+\?.*token=(\d{10,11})_([^&]+)", url)
    if not match:
        return False
    expiry, signature = match.groups()
    path = url.split("?", 1)[0].split("://", 1)[-1]
    path = path[path.index("/") :]
    expected = hmac.new(key, f"{path}{expiry}".encode(), hashlib.sha1).hexdigest()
    return hmac.compare_digest(signature, expected) and int(expiry) > now


def test_fastly_token_is_per_uri_and_passes_the_documented_vcl() -> None:
    key = base64.b64encode(b"fastly-secret-key-0123456789abcd").decode()
    signer = FastlySigner(key)
    host = "https://sparc.global.ssl.fastly.net"
    path = "/live/cam-1/240p/seg_00001.ts"
    url = f"{host}{path}?{signer.query(path, GRANT)}"
    assert fastly_vcl_accepts(url, base64.b64decode(key), now=1_899_999_000)
    assert not fastly_vcl_accepts(url, base64.b64decode(key), now=1_900_000_001)
    other = f"{host}/live/cam-1/240p/seg_00002.ts?{signer.query(path, GRANT)}"
    assert not fastly_vcl_accepts(other, base64.b64decode(key), now=1_899_999_000)


def test_origin_token_verifies_and_refuses_forged_expired_and_other_streams() -> None:
    signer = OriginSigner("origin-secret")
    token = signer.token(GRANT)
    assert signer.verify("/live/cam-1/480p/seg_00003.ts", token, now=1_899_000_000) == GRANT
    with pytest.raises(TokenRejected, match="expired"):
        signer.verify("/live/cam-1/480p/seg_00003.ts", token, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="another stream"):
        signer.verify("/live/cam-2/480p/seg_00003.ts", token, now=1_899_000_000)
    with pytest.raises(TokenRejected, match="forged"):
        OriginSigner("other-secret").verify("/live/cam-1/x.ts", token, now=1_899_000_000)
    _, mac = token.split(".")
    widened = base64.urlsafe_b64encode(b"1900000000:/live/").decode().rstrip("=")
    with pytest.raises(TokenRejected, match="forged"):
        signer.verify("/live/cam-2/x.ts", f"{widened}.{mac}", now=1_899_000_000)
    with pytest.raises(TokenRejected, match="malformed"):
        signer.verify("/live/cam-1/x.ts", "%%%.abc", now=1_899_000_000)


def test_grants_are_rounded_to_a_window_so_tokens_repeat_within_it() -> None:
    first = grant_for("/live/cam-1", now=1_000_000, ttl_s=3600, window_s=300)
    later = grant_for("/live/cam-1/", now=1_000_200, ttl_s=3600, window_s=300)
    assert first == later == StreamGrant("/live/cam-1/", 1_003_800)


def test_build_signer_refuses_missing_keys() -> None:
    bare = Provider(name="cf", weight=1, scheme=Scheme.CLOUDFRONT, base_url="https://x")
    with pytest.raises(SigningError, match="no signing secret"):
        build_signer(bare)
    keyless = Provider(name="cf", weight=1, scheme=Scheme.CLOUDFRONT, base_url="https://x",
                       secret="pem")  # fmt: skip
    with pytest.raises(SigningError, match="key_id"):
        build_signer(keyless)
    with pytest.raises(SigningError, match="hex"):
        AkamaiSigner("not-hex")
