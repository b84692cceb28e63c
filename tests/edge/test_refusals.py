"""Refusals cost the sender more than the edge: a flood of ANNOUNCEs without credentials
leaves a handful of events (not one each), and from one address it is soon closed unread;
wrong passwords for one camera are tried at one a second, from however many connections;
what an event keeps of a request is cut short. Against a real edge on loopback."""

import base64
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, events
from tests.waiting import eventually
from video_service.api.db import session_scope
from video_service.api.models import Event
from video_service.edge.refusals import MAX_KEPT, PER_ADDRESS, PER_CAMERA, WINDOW_S


def announce(port: int, path: str, authorization: str | None = None) -> bytes:
    """One ANNOUNCE on its own connection; the answer, or b"" when closed unread."""
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    request = f"ANNOUNCE rtsp://127.0.0.1:{port}{path} RTSP/1.0\r\nCSeq: 1\r\n{auth}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request.encode())
        try:
            return conn.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return b""


def test_a_flood_of_unknown_cameras_is_shut_out_and_leaves_a_few_events(
    sqlite_api: Api, edge: RunningEdge
) -> None:
    long_path = "/cam/" + "0" * 32 + "/" + "x" * 15_000
    answers = [announce(edge.port, long_path) for _ in range(200)]
    assert answers[0].startswith(b"RTSP/1.0 404")
    assert sum(a.startswith(b"RTSP/1.0 404") for a in answers) <= PER_ADDRESS + 1
    assert answers[-1] == b"", "the address is closed unread"
    with session_scope(sqlite_api.sessions) as session:
        stored = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "publish_refused")
        )
    assert stored == 1, "the first of its kind at once, the rest with the window's count"
    refused = events(sqlite_api, type="publish_refused")[0]["detail"]
    assert len(refused["url"]) <= MAX_KEPT + 3 and refused["reason"] == "unknown camera"
    # When the window closes, the others are one event with their count.
    eventually(lambda: len(events(sqlite_api, type="publish_refused")) == 2, WINDOW_S + 5)
    repeated = events(sqlite_api, type="publish_refused")[0]["detail"]
    assert 1 <= repeated["repeated"] <= PER_ADDRESS, repeated


def test_wrong_passwords_for_a_camera_go_at_one_a_second(
    edge: RunningEdge, admin: Callable[..., dict[str, object]]
) -> None:
    camera = admin()
    path = f"/cam/{camera['id']}"
    wrong = "Basic " + base64.b64encode(f"{camera['rtsp_username']}:nope".encode()).decode()
    for _ in range(PER_CAMERA):  # guessing begins
        assert announce(edge.port, path, wrong).startswith(b"RTSP/1.0 401")
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # eight more at once: they take turns
        answers = list(pool.map(lambda _: announce(edge.port, path, wrong), range(8)))
    assert all(a.startswith(b"RTSP/1.0 401") for a in answers)
    assert time.monotonic() - started >= 7.5, "one try a second, whatever the connections"
    right = (
        "Basic "
        + base64.b64encode(f"{camera['rtsp_username']}:{camera['rtsp_password']}".encode()).decode()
    )
    # The camera's own password still gets in (after its turn); the edge then waits for
    # SETUP, which this raw client does not send: the answer it gets is not a 401.
    assert not announce(edge.port, path, right).startswith(b"RTSP/1.0 401")
