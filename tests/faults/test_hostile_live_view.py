"""Live view (WHEP) against hostile viewers, with a camera publishing to a real edge: offers
refused before aiortc sees them, or aiortc's failure given back as a 400 with the viewer's
slot returned; sessions that never connect end and give their slot back; one token holds
a few such sessions at most; trickled candidates are checked and counted."""

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher, start_edge
from tests.processes import Children
from tests.waiting import eventually
from tests.webrtc_harness import offer_sdp

SDP = {"Content-Type": "application/sdp"}
FRAGMENT = {"Content-Type": "application/trickle-ice-sdpfrag"}


@pytest.fixture
def quick_edge(live_api: Api, whep_port: int) -> Iterator[RunningEdge]:
    """An edge whose sessions must connect within 2 s, two at most per token meanwhile."""
    quick = {"webrtc_connect_timeout_s": 2.0, "webrtc_pending_per_token": 2}
    for running in start_edge(live_api, **quick):
        serving = running.edge.serve_live_view("127.0.0.1", whep_port)
        assert asyncio.run_coroutine_threadsafe(serving, running.loop).result(10) == whep_port
        yield running


@pytest.fixture
def watched(live_api: Api, quick_edge: RunningEdge, children: Children) -> tuple[str, str]:
    """A camera publishing to the edge: its signed WHEP URL and its id."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    children.popen(publisher(quick_edge.url(camera), 120), stderr=subprocess.DEVNULL)
    playback = f"/api/cameras/{camera['id']}/playback"
    answer = eventually(lambda: (r := admin.get(playback)).status_code == 200 and r.json(), 30)
    assert answer["webrtc"], answer
    return str(answer["webrtc"]), str(camera["id"])


def _viewers(edge: RunningEdge, camera_id: str) -> int:
    feed = edge.edge.live_feeds.get(camera_id)
    return len(feed.viewers) if feed is not None else -1


def _lines(offer: str, *added: str) -> str:
    return offer.rstrip("\r\n") + "\r\n" + "".join(line + "\r\n" for line in added)


def test_offers_live_view_will_not_answer_are_400_and_give_the_slot_back(
    watched: tuple[str, str], quick_edge: RunningEdge
) -> None:
    url, camera_id = watched
    offer = offer_sdp()
    video = offer[offer.index("m=video") :]
    hostile = {
        "480 video m-lines (60 KB)": offer + video * 480,
        "five video m-lines": offer + video * 4,
        "two m-lines sharing a mid": offer + video,
        "m=video x": re.sub(r"^m=video \d+", "m=video x", offer, flags=re.M),
        "payload type 999": re.sub(r"^(m=video \d+ \S+) (\d+)", r"\1 999", offer, flags=re.M),
        "a=setup:holdconn": offer.replace("a=setup:actpass", "a=setup:holdconn"),
        "m=text": _lines(offer, "m=text 9 UDP/TLS/RTP/SAVPF 98", "a=mid:9"),
        "no m-line": "v=0\r\ns=-\r\n",
        # Each packet would carry the mid: 300 bytes of it, or in an extension id past 255,
        # are what no RTP header holds (aiortc's packer asserts).
        "a 300-character mid": re.sub(r"^a=mid:0", "a=mid:" + "m" * 300, offer, flags=re.M),
        "a=extmap:300": re.sub(r"^a=extmap:\d+ ", "a=extmap:300 ", offer, flags=re.M),
    }
    with httpx.Client(timeout=10) as whep:
        for what, body in hostile.items():
            started = time.monotonic()
            refused = whep.post(url, content=body, headers=SDP)
            took = time.monotonic() - started
            assert body != offer, what
            assert refused.status_code == 400, (what, refused.status_code, refused.text)
            assert took < 1.0, (what, took)
        # Nothing held: no viewer on the feed, no session, no offer counted.
        service = quick_edge.edge.whep
        assert service is not None
        assert _viewers(quick_edge, camera_id) == 0 and not service.sessions
        assert service._opening == 0 and not service._pending
        opened = whep.post(url, content=offer, headers=SDP)
        assert opened.status_code == 201, opened.text


def test_sessions_that_never_connect_end_and_a_token_holds_two_such_at_most(
    watched: tuple[str, str], quick_edge: RunningEdge
) -> None:
    url, camera_id = watched
    service = quick_edge.edge.whep
    assert service is not None
    with httpx.Client(timeout=10) as whep:
        answers = [whep.post(url, content=offer_sdp(), headers=SDP) for _ in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 429, 429], [a.text for a in answers]
        assert "Retry-After" in answers[2].headers
        # No viewer connects (no candidates, no DTLS): after 2 s each session ends, and the
        # token may open sessions again.
        eventually(lambda: not service.sessions and _viewers(quick_edge, camera_id) == 0, 10)
        again = whep.post(url, content=offer_sdp(), headers=SDP)
        assert again.status_code == 201, again.text


def test_trickle_is_checked_and_counted(watched: tuple[str, str], quick_edge: RunningEdge) -> None:
    url, _ = watched
    with httpx.Client(timeout=10) as whep:
        opened = whep.post(url, content=offer_sdp(), headers=SDP)
        assert opened.status_code == 201, opened.text
        session = httpx.URL(url).join(opened.headers["location"])

        def candidate(n: int) -> str:
            return f"a=candidate:{n} 1 udp 2130706431 127.0.0.1 {40000 + n} typ host"

        for garbage in ("", "hello", "GET / HTTP/1.1", "a=candidate:x", "a=rtpmap:96 H264"):
            patched = whep.patch(session, content=garbage, headers=FRAGMENT)
            assert patched.status_code == 400, (garbage, patched.text)
        ten = "a=mid:0\r\n" + "\r\n".join(candidate(n) for n in range(10)) + "\r\n"
        assert whep.patch(session, content=ten, headers=FRAGMENT).status_code == 204
        many = "a=mid:0\r\n" + "\r\n".join(candidate(n) for n in range(10, 110)) + "\r\n"
        refused = whep.patch(session, content=many, headers=FRAGMENT)
        assert refused.status_code == 400 and "at most 16" in refused.text, refused.text
        done = "a=mid:0\r\na=end-of-candidates\r\n"
        assert whep.patch(session, content=done, headers=FRAGMENT).status_code == 204
