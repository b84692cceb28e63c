"""A camera's sub-stream: one FFmpeg publishes 1280x720 to `/cam/{id}` and 640x360 to
`/cam/{id}/sub`; the camera's API object shows the sub-stream live (H264, 640x360); the
playback answer carries `webrtc_sub` beside `webrtc`, and aiortc viewers get 640x360 frames
from the one and 1280x720 from the other; a token opens its own camera's streams only; the
recording holds the main stream alone. A wrong password gets 401, UDP 461; when the
publisher stops, the sub-stream is gone from the camera and from the playback answer."""

import asyncio
import base64
import contextlib
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publish, publisher, start_edge
from tests.processes import Children
from tests.waiting import eventually, holds
from tests.webrtc_harness import first_frame_size, offer_sdp
from video_service.edge.sessions import Silence
from video_service.shared.ownership import Ownership
from video_service.shared.streams import sub_stream_id
from workers.base import redis_keys
from workers.base.ports import free_port


def two_stream_camera(
    main_url: str,
    seconds: float,
    main: str = "1280x720",
    sub: str = "640x360",
    main_codec: tuple[str, ...] = ("libx264",),
) -> list[str]:
    """One picture, published twice: `main` as the main stream and `sub` as the sub-stream,
    without B-frames (live view's rule), a keyframe a second."""
    rest = ["-preset", "ultrafast", "-tune", "zerolatency", "-g", "15",
            "-f", "rtsp", "-rtsp_transport", "tcp"]  # fmt: skip
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={main}:rate=15", "-t", str(seconds),
        "-map", "0:v", "-c:v", *main_codec, *rest, main_url,
        "-map", "0:v", "-s", sub, "-c:v", "libx264", *rest, f"{main_url}/sub",
    ]  # fmt: skip


def probed_size(path: str) -> tuple[int, int]:
    command = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
               "stream=width,height", "-of", "json", path]  # fmt: skip
    stream = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    return stream["streams"][0]["width"], stream["streams"][0]["height"]


def test_a_sub_stream_is_relayed_live_beside_the_main_and_never_recorded(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    other = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Yard"}).json()
    assert camera["sub_publish_url"].endswith(f"/cam/{camera['id']}/sub")
    key = admin.post("/api/keys", json={"name": "wall", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    viewer = live_api.client(key)
    children.popen(two_stream_camera(owning_edge.url(camera), 60))

    def sub_stream() -> dict[str, object] | None:
        return viewer.get(f"/api/cameras/{camera['id']}").json()["sub_stream"]

    facts = eventually(sub_stream, 20, what="the sub-stream live")
    assert facts["codec"] == "H264" and (facts["width"], facts["height"]) == (640, 360), facts
    playback = f"/api/cameras/{camera['id']}/playback"
    answer = eventually(lambda: viewer.get(playback).json() if viewer.get(playback).status_code
                        == 200 else None, 30, what="the camera online")  # fmt: skip
    assert answer["webrtc_sub"] and answer["webrtc"] and answer["webrtc_sub"] != answer["webrtc"]
    assert f"/whep/{camera['id']}/sub?token=" in answer["webrtc_sub"]

    assert first_frame_size(answer["webrtc_sub"]) == (640, 360)
    assert first_frame_size(answer["webrtc"]) == (1280, 720)

    offer = {"headers": {"Content-Type": "application/sdp"}, "content": "v=0\r\n"}
    elsewhere = answer["webrtc_sub"].replace(camera["id"], other["id"])
    assert httpx.post(elsewhere, **offer).status_code == 403  # type: ignore[arg-type]
    # The main stream's token grants the camera's whole live-view path: its own sub-stream
    # too (the same viewer's right), never another camera's.
    main_token = answer["webrtc"].split("?")[1]
    other_sub = f"{elsewhere.split('?')[0]}?{main_token}"
    assert httpx.post(other_sub, **offer).status_code == 403  # type: ignore[arg-type]

    source = owning_edge.source(camera)
    segments = eventually(lambda: sorted(source.glob("seg_*.ts")), 20, what="the main recorded")
    assert {probed_size(str(s)) for s in segments[:2]} == {(1280, 720)}

    wrong = publish(owning_edge.url(camera, "not-the-password") + "/sub", 2)
    assert wrong.returncode != 0 and re.search(r"401", wrong.stderr), wrong.stderr
    udp = [*publisher(owning_edge.url(camera) + "/sub", 2)[:-3], "-rtsp_transport", "udp",
           owning_edge.url(camera) + "/sub"]  # fmt: skip
    refused = subprocess.run(udp, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "461" in refused.stderr, refused.stderr

    children.stop_all()
    eventually(lambda: sub_stream() is None, 20, what="the sub-stream gone")
    gone = viewer.get(playback)
    assert gone.status_code != 200 or gone.json()["webrtc_sub"] is None


@dataclass
class EdgeWithLiveView:
    running: RunningEdge
    whep: str  # where its live view is reached

    def url(self, camera: dict[str, object]) -> str:
        return self.running.url(camera)


@pytest.fixture
def two_edges(
    live_api: Api, redis_client: redis.Redis
) -> Iterator[tuple[EdgeWithLiveView, EdgeWithLiveView]]:
    """Edges A and B behind one API, each with its own lease name and live-view port (as two
    `sparc-video edge` processes behind a TCP load balancer)."""
    edges: list[EdgeWithLiveView] = []
    with contextlib.ExitStack() as stack:
        for name in "ab":
            port = free_port()
            whep = f"http://127.0.0.1:{port}"
            ownership = Ownership(redis_client, f"edge-{name}", whep)
            # One media root, as the API reads it: B records nothing (it has the sub only).
            edge = contextlib.contextmanager(start_edge)(live_api, ownership=ownership)
            running = stack.enter_context(edge)
            serving = running.edge.serve_live_view("127.0.0.1", port)
            assert asyncio.run_coroutine_threadsafe(serving, running.loop).result(10) == port
            edges.append(EdgeWithLiveView(running, whep))
        yield edges[0], edges[1]


def test_the_two_streams_of_one_camera_may_reach_two_edges_and_each_url_names_its_own(
    live_api: Api, two_edges: tuple[EdgeWithLiveView, EdgeWithLiveView], children: Children
) -> None:
    """Main to edge A, sub to edge B: each live-view URL names the edge that has its stream;
    a takeover of the sub (its publisher moves to A) cuts B's off and leaves the main
    alone."""
    a, b = two_edges
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    main = children.popen(publisher(a.url(camera), 60, size="640x360", gop_s=1))
    children.popen(publisher(b.url(camera) + "/sub", 60, gop_s=1))
    playback = f"/api/cameras/{camera['id']}/playback"

    def sub_from(edge: EdgeWithLiveView) -> dict[str, str] | None:
        got = admin.get(playback)
        if got.status_code != 200 or not (got.json()["webrtc_sub"] or "").startswith(edge.whep):
            return None
        return dict(got.json())

    both = eventually(lambda: sub_from(b), 30, what="the sub-stream live on B")
    assert both["webrtc"].startswith(f"{a.whep}/whep/{camera['id']}?")
    assert both["webrtc_sub"].startswith(f"{b.whep}/whep/{camera['id']}/sub?")
    assert first_frame_size(both["webrtc_sub"]) == (320, 180)
    assert first_frame_size(both["webrtc"]) == (640, 360)
    assert admin.get(f"/api/cameras/{camera['id']}").json()["sub_stream"]["edge"] == "edge-b"
    overview = {e["name"]: e for e in admin.get("/api/ops/overview").json()["edges"]}
    assert overview["edge-a"]["cameras"] == [camera["id"]] and not overview["edge-a"]["sub_streams"]
    assert overview["edge-b"]["sub_streams"] == [camera["id"]] and not overview["edge-b"]["cameras"]
    assert overview["edge-b"]["live_view_url"] == b.whep

    source = a.running.source(camera)
    recorded = len(list(source.glob("seg_*.ts")))
    children.popen(publisher(a.url(camera) + "/sub", 60, gop_s=1))  # the sub moves to A
    subs_on_b = b.running.edge.sub_streams.live
    eventually(lambda: camera["id"] not in subs_on_b, 10, what="B's sub-stream cut off")
    moved = eventually(lambda: sub_from(a), 10, what="the sub-stream's URL naming A")
    assert first_frame_size(moved["webrtc_sub"]) == (320, 180)

    def sub_edge() -> object:
        return (admin.get(f"/api/cameras/{camera['id']}").json()["sub_stream"] or {}).get("edge")

    # B, cut off after A said what the stream is, leaves A's word standing.
    assert eventually(sub_edge, 10, what="the sub-stream's facts") == "edge-a"
    holds(lambda: sub_edge() == "edge-a", 2, what="A's word on the sub-stream")
    assert main.poll() is None and camera["id"] in a.running.edge.publishers.live
    eventually(lambda: len(list(source.glob("seg_*.ts"))) > recorded + 1, 20,
               what="the main stream still recorded")  # fmt: skip


def test_a_gstreamer_sub_stream_is_set_up_track_by_track(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    """rtspclientsink: a SETUP for each track (AAC first, then the video), RECORD; live
    while it sends, gone when it ends, nothing recorded."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    pipeline = [
        "gst-launch-1.0", "-q",
        "videotestsrc", "num-buffers=80", "is-live=true", "!",
        "video/x-raw,width=320,height=240,framerate=20/1", "!",
        "x264enc", "tune=zerolatency", "key-int-max=20", "!", "h264parse", "!", "s.sink_0",
        "audiotestsrc", "num-buffers=170", "is-live=true", "!", "audioconvert", "!",
        "voaacenc", "!", "aacparse", "!", "s.sink_1",
        "rtspclientsink", "name=s",
        f"location=rtsp://127.0.0.1:{owning_edge.port}/cam/{camera['id']}/sub", "protocols=tcp",
        f"user-id={camera['rtsp_username']}",
        f"user-pw={camera['rtsp_password']}",
    ]  # fmt: skip
    run = children.popen(pipeline, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def sub_stream() -> dict[str, object] | None:
        return admin.get(f"/api/cameras/{camera['id']}").json()["sub_stream"]

    facts = eventually(sub_stream, 20, what="the sub-stream live")
    assert (facts["codec"], facts["width"], facts["height"]) == ("H264", 320, 240)
    try:
        run.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        # Seen in about one run of five, as with the main stream's (tests/edge/test_edge.py):
        # gst-launch waiting at its end after all was sent, with no TEARDOWN on the wire.
        # What is under test is the relay, checked above and below.
        run.kill()
        run.communicate()
    eventually(lambda: sub_stream() is None, 10, what="the sub-stream gone")
    assert not list(owning_edge.source(camera).glob("seg_*.ts"))  # nothing recorded


def test_an_h265_camera_is_watched_live_through_its_h264_sub_stream(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    h265 = ("libx265", "-x265-params", "log-level=error")
    children.popen(two_stream_camera(owning_edge.url(camera), 60, "640x360", "320x180", h265))
    playback = f"/api/cameras/{camera['id']}/playback"

    def answer() -> dict[str, str] | None:
        got = admin.get(playback)
        return got.json() if got.status_code == 200 and got.json()["webrtc_sub"] else None

    found = eventually(answer, 30, what="the camera online with its sub-stream")
    offer = {"headers": {"Content-Type": "application/sdp"}, "content": offer_sdp()}
    main = httpx.post(found["webrtc"], timeout=10, **offer)  # type: ignore[arg-type]
    assert main.status_code == 409 and "H.264 only" in main.text, main.text
    assert first_frame_size(found["webrtc_sub"]) == (320, 180)
    facts = admin.get(f"/api/cameras/{camera['id']}").json()["sub_stream"]
    assert (facts["codec"], facts["width"], facts["height"]) == ("H264", 320, 180)


class RawPublisher:
    """A publisher speaking RTSP by hand over one connection (Basic credentials)."""

    def __init__(self, port: int, camera: dict[str, object]) -> None:
        self.url = f"rtsp://127.0.0.1:{port}/cam/{camera['id']}/sub"
        secret = f"{camera['rtsp_username']}:{camera['rtsp_password']}".encode()
        self._auth = "Basic " + base64.b64encode(secret).decode()
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._cseq = 0

    def ask(self, method: str, url: str, *headers: str, body: bytes = b"") -> str:
        self.send_request(method, url, *headers, body=body)
        return self.answer()

    def send_request(self, method: str, url: str, *headers: str, body: bytes = b"") -> None:
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}",
                 f"Authorization: {self._auth}", *headers]  # fmt: skip
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self._socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def answer(self) -> str:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = self._socket.recv(1)
            if not byte:
                return head.decode()
            head += byte
        return head.decode()

    def send(self, data: bytes) -> None:
        self._socket.sendall(data)

    def closed_by_the_edge(self) -> bool:
        """Whether the edge ends the connection within the socket's timeout (what it sent
        before is read past)."""
        try:
            while self._socket.recv(4096):
                pass
        except ConnectionResetError:  # dropped at once, its unsent answers with it
            return True
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._socket.close()


SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=sub\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:streamid=0\r\n"
)


def test_the_edge_answers_a_sub_stream_publisher_itself(
    live_api: Api, owning_edge: RunningEdge
) -> None:
    """ANNOUNCE, a UDP SETUP refused (461), a TCP one answered with a session, RECORD;
    between the frames a GET_PARAMETER keep-alive is answered, an unknown method gets 455,
    and TEARDOWN ends it (the edge closes the connection, the sub-stream is gone)."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    raw = RawPublisher(owning_edge.port, camera)
    try:
        sdp = ("Content-Type: application/sdp",)
        assert raw.ask("ANNOUNCE", raw.url, *sdp, body=SDP.encode()).startswith("RTSP/1.0 200")
        track = f"{raw.url}/streamid=0"
        udp = raw.ask("SETUP", track, "Transport: RTP/AVP;unicast;client_port=5000-5001")
        assert udp.startswith("RTSP/1.0 461"), udp
        tcp = raw.ask("SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record")
        assert tcp.startswith("RTSP/1.0 200") and "interleaved=0-1" in tcp, tcp
        session = re.search(r"Session: (\w+);timeout=60", tcp)
        assert session is not None, tcp
        assert raw.ask("RECORD", raw.url, f"Session: {session.group(1)}").startswith("RTSP/1.0 200")
        assert camera["id"] in owning_edge.edge.sub_streams.live
        packet = b"\x80\x60\x00\x01" + b"\x00" * 8 + b"\x09\xf0"  # an RTP packet: an AUD
        raw.send(b"$\x00" + len(packet).to_bytes(2, "big") + packet)
        alive = raw.ask("GET_PARAMETER", raw.url, f"Session: {session.group(1)}")
        assert alive.startswith("RTSP/1.0 200") and f"Session: {session.group(1)}" in alive
        assert raw.ask("PLAY", raw.url).startswith("RTSP/1.0 455")
        raw.send(b"$\x01\x00\x02hi")  # RTCP on the other channel: passed over
        assert raw.ask("TEARDOWN", raw.url).startswith("RTSP/1.0 200")
        assert raw.closed_by_the_edge()
        eventually(lambda: camera["id"] not in owning_edge.edge.sub_streams.live, 5)
    finally:
        raw.close()
    assert not list(owning_edge.source(camera).glob("seg_*.ts"))


def live_sub(live_api: Api, owning_edge: RunningEdge) -> tuple[dict[str, str], RawPublisher]:
    """A camera whose sub-stream a raw publisher has set up and is recording."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    return camera, set_up(RawPublisher(owning_edge.port, camera))


def set_up(raw: RawPublisher) -> RawPublisher:
    sdp = ("Content-Type: application/sdp",)
    assert raw.ask("ANNOUNCE", raw.url, *sdp, body=SDP.encode()).startswith("RTSP/1.0 200")
    transport = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"
    assert raw.ask("SETUP", f"{raw.url}/streamid=0", transport).startswith("RTSP/1.0 200")
    assert raw.ask("RECORD", raw.url).startswith("RTSP/1.0 200")
    return raw


def test_a_disabled_cameras_sub_stream_is_cut_off(live_api: Api, owning_edge: RunningEdge) -> None:
    camera, raw = live_sub(live_api, owning_edge)
    try:
        subs = owning_edge.edge.sub_streams.live
        assert camera["id"] in subs
        disabled = live_api.client().post(f"/api/cameras/{camera['id']}/disable")
        assert disabled.status_code == 200, disabled.text
        eventually(lambda: camera["id"] not in subs, 5, what="the sub-stream cut off")
        assert raw.closed_by_the_edge()
    finally:
        raw.close()


def test_two_replacements_at_once_leave_one_session_with_its_lease_and_facts(
    live_api: Api, owning_edge: RunningEdge, redis_client: redis.Redis
) -> None:
    camera, first = live_sub(live_api, owning_edge)
    stream_id = sub_stream_id(camera["id"])
    later = [RawPublisher(owning_edge.port, camera) for _ in range(2)]
    try:
        sdp = ("Content-Type: application/sdp",)
        for raw in later:  # both on the wire before either is answered
            raw.send_request("ANNOUNCE", raw.url, *sdp, body=SDP.encode())
        answers = [raw.answer() for raw in later]
        # Each replacement ends the session before it: one of the two is itself replaced.
        won = [raw for raw, said in zip(later, answers, strict=True)
               if said.startswith("RTSP/1.0 200")]  # fmt: skip
        assert len(won) >= 1 and first.closed_by_the_edge()
        last = won[-1]
        transport = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"
        assert last.ask("SETUP", f"{last.url}/streamid=0", transport).startswith("RTSP/1.0 200")
        assert last.ask("RECORD", last.url).startswith("RTSP/1.0 200")
        subs = owning_edge.edge.sub_streams.live
        eventually(lambda: len(subs) == 1 and camera["id"] in subs, 5)

        def held() -> bool:
            keys = (redis_keys.camera_owner(stream_id), redis_keys.camera_stream(stream_id))
            return all(redis_client.get(key) is not None for key in keys)

        eventually(held, 5, what="the lease and the facts")
        holds(held, 6, what="the lease and the facts kept past a renewal")
        assert last.ask("GET_PARAMETER", last.url).startswith("RTSP/1.0 200")
    finally:
        for raw in (first, *later):
            raw.close()


def test_a_flood_of_requests_between_the_frames_is_cut_off(
    live_api: Api, owning_edge: RunningEdge
) -> None:
    camera, raw = live_sub(live_api, owning_edge)
    try:
        flood = b"".join(
            f"GET_PARAMETER {raw.url} RTSP/1.0\r\nCSeq: {n}\r\n\r\n".encode() for n in range(100)
        )
        raw.send(flood)
        eventually(lambda: camera["id"] not in owning_edge.edge.sub_streams.live, 5)
    finally:
        raw.close()


@pytest.mark.parametrize("owning_edge_settings", [{"segment_seconds": 30.0}])
def test_a_camera_is_watchable_live_before_its_first_segment(
    live_api: Api, owning_edge: RunningEdge, children: Children, redis_client: redis.Redis
) -> None:
    """The playback answer and live view come with the stream, not with its first segment;
    a WebRTC-only viewer (a wall's tile) opens no viewer session, so no ladder; when the
    publisher goes, the camera is offline again at once."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    playback = f"/api/cameras/{camera['id']}/playback"
    assert admin.get(playback).status_code == 409
    children.popen(publisher(owning_edge.url(camera), 25, gop_s=1))
    answer = eventually(lambda: admin.get(playback).json() if admin.get(playback).status_code
                        == 200 else None, 15, what="the camera watchable")  # fmt: skip
    assert first_frame_size(answer["webrtc"]) == (320, 180)
    assert not list(owning_edge.source(camera).glob("seg_*.ts")), "before any segment"
    redis_client.delete(redis_keys.viewer_sessions(camera["id"]))
    wall = admin.get(playback, params={"webrtc_only": "true"}).json()
    assert wall["session_id"] is None and wall["webrtc"] and "session=" not in wall["url"]
    assert not redis_client.exists(redis_keys.viewer_sessions(camera["id"])), "no session"
    assert admin.get(playback).json()["session_id"]
    assert redis_client.exists(redis_keys.viewer_sessions(camera["id"])), "a viewer's session"
    bad = admin.get(playback, params={"webrtc_only": "perhaps"})
    assert bad.status_code == 422 and "webrtc_only" in bad.text
    children.stop_all()
    eventually(lambda: admin.get(playback).status_code == 409, 15, what="offline again")


def test_a_relayed_stream_is_cut_after_its_silence_not_after_its_first_reads() -> None:
    """`Silence`, by which a sub-stream's publisher (pushed or pulled) is read: a stream whose
    chunks keep coming outlives the idle time many times over (its one timer moves on); one
    that goes quiet gets TimeoutError about the idle time after its last chunk; a cancel
    from outside stays a cancel; a stream that ends, ends."""

    async def relay(reader: asyncio.StreamReader, idle_s: float) -> list[bytes]:
        got = []
        async with Silence(idle_s) as silence:
            while chunk := await reader.read(1024):
                silence.heard()
                got.append(chunk)
        return got

    async def check() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        for n in range(8):  # 0.8 s of chunks, 0.1 s apart, against an idle time of 0.25 s
            loop.call_later(0.1 * n, reader.feed_data, b"$\x00\x00\x01%d" % n)
        loop.call_later(0.8, reader.feed_eof)
        assert len(await relay(reader, 0.25)) >= 4

        quiet = asyncio.StreamReader()
        for n in range(3):
            loop.call_later(0.1 * n, quiet.feed_data, b"rtp")
        started = loop.time()
        with pytest.raises(TimeoutError):
            await relay(quiet, 0.25)
        assert 0.2 + 0.25 <= loop.time() - started < 2

        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0  # its own cancel taken back

        async def swallowing(idle_s: float) -> None:
            """A body that swallows the first cut (as 3.11's wait_for may): cut again."""
            async with Silence(idle_s):
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(10)
                await asyncio.sleep(10)

        started = loop.time()
        with pytest.raises(TimeoutError):
            await swallowing(0.2)
        assert 0.4 <= loop.time() - started < 2
        assert task.cancelling() == 0

        cancelled = asyncio.create_task(relay(asyncio.StreamReader(), 0.25))
        loop.call_later(0.05, cancelled.cancel)
        with pytest.raises(asyncio.CancelledError):
            await cancelled

    asyncio.run(check())
