"""Refusals cost the sender more than the edge: a flood of ANNOUNCEs for unknown cameras
leaves a handful of events (not one each), and from one address it is soon closed unread;
an address guessing a camera's password has its wrong answers held a second each, while
the camera's own publisher gets in at once; what an event keeps of a request is cut short.
Against a real edge on loopback."""

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
from video_service.edge.refusals import GUESS_PAUSE_S, GUESSES, MAX_KEPT, PER_ADDRESS, WINDOW_S


def announce(
    port: int, path: str, authorization: str | None = None, source: str = "127.0.0.1"
) -> bytes:
    """One ANNOUNCE on its own connection (from `source`, a loopback address); the answer,
    or b"" when closed unread."""
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    request = f"ANNOUNCE rtsp://127.0.0.1:{port}{path} RTSP/1.0\r\nCSeq: 1\r\n{auth}\r\n"
    with socket.create_connection(("127.0.0.1", port), 3, (source, 0)) as conn:
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


def test_a_guessers_wrong_passwords_are_held_and_the_cameras_own_never_waits(
    edge: RunningEdge, admin: Callable[..., dict[str, object]]
) -> None:
    camera = admin()
    path = f"/cam/{camera['id']}"
    user = camera["rtsp_username"]
    wrong = "Basic " + base64.b64encode(f"{user}:nope".encode()).decode()
    right = "Basic " + base64.b64encode(f"{user}:{camera['rtsp_password']}".encode()).decode()
    for _ in range(GUESSES):  # guessing begins: answered at once so far
        assert announce(edge.port, path, wrong).startswith(b"RTSP/1.0 401")

    def timed_guess(_: int) -> tuple[bytes, float]:
        started = time.monotonic()
        return announce(edge.port, path, wrong), time.monotonic() - started

    with ThreadPoolExecutor(25) as pool:  # 25 more at once, each held on its connection
        held = pool.map(timed_guess, range(PER_ADDRESS - GUESSES))
        # Meanwhile the camera itself, from its own address: answered at once, not after
        # the guesses (the edge then waits for SETUP, which this raw client does not send:
        # the answer is not a 401, or nothing before the timeout).
        started = time.monotonic()
        own = announce(edge.port, path, right, source="127.0.0.2")
        took = time.monotonic() - started
        guesses = list(held)
    # Not held: a held answer takes the whole pause (below). The camera's own answer comes
    # from its recorder, started for it (0.76 s once, on a loaded machine: no tighter bound).
    assert not own.startswith(b"RTSP/1.0 401") and took < GUESS_PAUSE_S, (own, took)
    assert all(a.startswith(b"RTSP/1.0 401") and s >= GUESS_PAUSE_S for a, s in guesses)
    # Past its refusals, the guessing address is closed unread; another is not.
    assert announce(edge.port, path, wrong) == b""
    assert announce(edge.port, path, wrong, source="127.0.0.3").startswith(b"RTSP/1.0 401")
