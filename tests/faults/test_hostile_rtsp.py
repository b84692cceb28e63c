"""RTSP abuse is counted as it happens, on the connection it comes on: a connection that
asks and asks is cut off; ANNOUNCEs without a password and unknown methods count; idle
connections are capped per address; a Content-Length that is not ASCII digits is a 400."""

import socket
from collections.abc import Callable, Iterator

import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, start_edge
from video_service.edge.refusals import CHALLENGES_PER_ADDRESS, PER_ADDRESS
from video_service.edge.rtsp_door import MAX_REQUESTS


@pytest.fixture
def capped_edge(sqlite_api: Api) -> Iterator[RunningEdge]:
    """An edge that holds 20 connections (10 from one address)."""
    yield from start_edge(sqlite_api, rtsp_max_connections=20)


def answers_on_one_connection(port: int, requests: list[bytes], source: str) -> list[bytes]:
    """Send each request on one connection, read its answer; what came back until closed."""
    got = []
    with socket.create_connection(("127.0.0.1", port), 5, (source, 0)) as conn:
        for request in requests:
            try:
                conn.sendall(request)
                answer = conn.recv(4096)
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                break
            if not answer:
                break
            got.append(answer)
    return got


def one_request(port: int, request: bytes, source: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 5, (source, 0)) as conn:
        try:
            conn.sendall(request)
            return conn.recv(4096)
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            return b""


def request(method: str, path: str = "/cam/" + "0" * 32, n: int = 1, extra: str = "") -> bytes:
    return f"{method} rtsp://edge{path} RTSP/1.0\r\nCSeq: {n}\r\n{extra}\r\n".encode()


def test_a_connection_that_keeps_asking_is_cut_off(edge: RunningEdge) -> None:
    describes = [request("DESCRIBE", n=n) for n in range(60)]
    got = answers_on_one_connection(edge.port, describes, "127.0.0.11")
    assert 0 < len(got) <= MAX_REQUESTS, len(got)
    assert all(a.startswith(b"RTSP/1.0 405") for a in got)
    options = [request("OPTIONS", n=n) for n in range(60)]
    assert len(answers_on_one_connection(edge.port, options, "127.0.0.12")) == MAX_REQUESTS


def test_unknown_methods_count_and_shut_the_address_out(edge: RunningEdge) -> None:
    answers = [one_request(edge.port, request("FLOOD", n=n), "127.0.0.13") for n in range(40)]
    assert answers[0].startswith(b"RTSP/1.0 455")
    assert sum(a.startswith(b"RTSP/1.0 455") for a in answers) <= PER_ADDRESS
    assert answers[-1] == b""
    assert one_request(edge.port, request("OPTIONS"), "127.0.0.14").startswith(b"RTSP/1.0 200")


def test_announces_without_a_password_count_apart_and_shut_a_flood_out(
    edge: RunningEdge, admin: Callable[..., dict[str, object]]
) -> None:
    camera = admin()
    announce = request("ANNOUNCE", f"/cam/{camera['id']}")
    answers = [
        one_request(edge.port, announce, "127.0.0.15") for _ in range(CHALLENGES_PER_ADDRESS + 20)
    ]
    assert answers[0].startswith(b"RTSP/1.0 401"), answers[0]
    assert sum(a.startswith(b"RTSP/1.0 401") for a in answers) <= CHALLENGES_PER_ADDRESS + 1
    assert answers[-1] == b""
    # A site's cameras starting together behind one address stay well under it.
    assert one_request(edge.port, announce, "127.0.0.16").startswith(b"RTSP/1.0 401")


def test_idle_connections_are_capped_per_address(capped_edge: RunningEdge) -> None:
    held = []
    try:
        for _ in range(10):  # half of the edge's 20, from one address
            held.append(socket.create_connection(("127.0.0.1", capped_edge.port), 5,
                                                 ("127.0.0.17", 0)))  # fmt: skip
        assert one_request(capped_edge.port, request("OPTIONS"), "127.0.0.17") == b""
        assert one_request(capped_edge.port, request("OPTIONS"), "127.0.0.18").startswith(
            b"RTSP/1.0 200"
        )
    finally:
        for conn in held:
            conn.close()
    assert one_request(capped_edge.port, request("OPTIONS"), "127.0.0.17").startswith(
        b"RTSP/1.0 200"
    )


def test_a_content_length_of_other_digits_is_a_400(edge: RunningEdge) -> None:
    for length in ("²", "\uff11", "9" * 12, "-1", "0x10"):
        bad = request("ANNOUNCE", extra=f"Content-Length: {length}\r\n")
        answer = one_request(edge.port, bad, "127.0.0.19")
        assert answer.startswith(b"RTSP/1.0 400"), (length, answer)
