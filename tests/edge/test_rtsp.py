import asyncio
import base64
import hashlib

import pytest

from video_service.edge.digest import NonceIssuer, challenges, check_authorization, digest_ha1
from video_service.edge.errors import BadMessage
from video_service.edge.relay import for_recorder, url_rewriter
from video_service.edge.rtsp import Message, parse_head, read_message, response

CAMERA = "0123456789abcdef0123456789abcdef"


def read(raw: bytes) -> Message | None:
    async def go() -> Message | None:
        reader = asyncio.StreamReader(limit=16 * 1024)
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_message(reader)

    return asyncio.run(go())


def test_a_request_with_a_body_round_trips() -> None:
    raw = (
        f"ANNOUNCE rtsp://edge:8554/cam/{CAMERA} RTSP/1.0\r\nCSeq: 2\r\n"
        "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
    ).encode()
    message = read(raw)
    assert message is not None
    assert (message.method, message.header("cseq"), message.body) == ("ANNOUNCE", "2", b"v=0\r\n")
    assert message.encode() == raw


def test_garbage_and_oversized_messages_are_refused() -> None:
    with pytest.raises(BadMessage, match="not text"):
        parse_head(b"\x00\xffGARBAGE\r\n\r\n")
    with pytest.raises(BadMessage, match="not an RTSP message"):
        parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(BadMessage, match="malformed header"):
        parse_head(b"OPTIONS rtsp://x/ RTSP/1.0\r\nno colon here\r\n\r\n")
    with pytest.raises(BadMessage, match="Content-Length"):
        read(b"ANNOUNCE rtsp://x/ RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n")
    with pytest.raises(BadMessage, match="middle of a body"):  # a camera cut off mid-answer
        read(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 100\r\n\r\nv=0\r\n")
    assert read(b"") is None


def test_the_recorder_gets_its_url_no_credentials_and_ffmpegs_transport_dialect() -> None:
    setup = Message(
        f"SETUP rtsp://edge:8554/cam/{CAMERA}/stream=0 RTSP/1.0",
        [("CSeq", "5"), ("Authorization", "Digest x"),
         ("Transport", 'RTP/AVP/TCP;unicast;interleaved=0-1;mode="RECORD"')],
    )  # fmt: skip
    forwarded = for_recorder(setup, url_rewriter("rtsp://127.0.0.1:4000"))
    assert forwarded.start_line == f"SETUP rtsp://127.0.0.1:4000/cam/{CAMERA}/stream=0 RTSP/1.0"
    assert forwarded.header("Authorization") is None
    assert forwarded.header("Transport") == "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"
    assert forwarded.with_header("CSeq", "1").header("CSeq") == "1"


def digest_response(ha1: str, nonce: str, method: str, uri: str) -> str:
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    return hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()


def test_digest_and_basic_check_against_the_stored_ha1() -> None:
    nonces = NonceIssuer(b"k" * 32)
    ha1 = digest_ha1("cam-1", "sparc-video", "s3cret")
    nonce = nonces.issue()
    uri = f"rtsp://edge:8554/cam/{CAMERA}"
    good = digest_response(ha1, nonce, "ANNOUNCE", uri)
    header = (
        f'Digest username="cam-1", realm="sparc-video", nonce="{nonce}", uri="{uri}", '
        f'response="{good}"'
    )
    check = {"method": "ANNOUNCE", "username": "cam-1", "ha1": ha1, "realm": "sparc-video",
             "nonces": nonces}  # fmt: skip
    assert check_authorization(header, **check)  # type: ignore[arg-type]
    assert not check_authorization(header.replace(good, "0" * 32), **check)  # type: ignore[arg-type]
    assert not check_authorization(header.replace(nonce, "1.forged"), **check)  # type: ignore[arg-type]
    stale = NonceIssuer(b"k" * 32).issue(now=0)
    stale_header = header.replace(nonce, stale).replace(
        good, digest_response(ha1, stale, "ANNOUNCE", uri)
    )
    assert not check_authorization(stale_header, **check)  # type: ignore[arg-type]
    basic = "Basic " + base64.b64encode(b"cam-1:s3cret").decode()
    assert check_authorization(basic, **check)  # type: ignore[arg-type]
    wrong = "Basic " + base64.b64encode(b"cam-1:guess").decode()
    assert not check_authorization(wrong, **check)  # type: ignore[arg-type]
    assert not check_authorization(None, **check)  # type: ignore[arg-type]


def test_a_401_offers_digest_and_basic() -> None:
    answer = response(401, "Unauthorized", "3", *challenges("sparc-video", "n1"))
    text = answer.encode().decode()
    assert text.startswith("RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n")
    assert 'WWW-Authenticate: Digest realm="sparc-video", nonce="n1"' in text
    assert 'WWW-Authenticate: Basic realm="sparc-video"' in text
