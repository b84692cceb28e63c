"""The RTSP edge with real FFmpeg publishers: auth, recording, reconnects, hostile clients."""

import socket
import subprocess
import time
from collections.abc import Callable

import m3u8
import pytest

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, events, publish, publisher, start_edge
from tests.media import segment_facts
from tests.processes import Children
from tests.waiting import eventually, holds


@pytest.mark.long
def test_a_camera_publishing_20_s_is_recorded_in_6_s_segments(
    edge: RunningEdge, admin: Callable[..., dict[str, object]], sqlite_api: Api
) -> None:
    camera = admin()
    done = publish(edge.url(camera), 21)
    assert done.returncode == 0, done.stderr
    eventually(lambda: not edge.edge.live_cameras)
    playlist = m3u8.load(str(edge.source(camera) / "index.m3u8"))
    durations = [float(s.duration) for s in playlist.segments]
    assert len(durations) >= 3
    assert all(abs(d - 6.0) < 0.5 for d in durations[:-1]), durations
    for segment in playlist.segments:
        facts = segment_facts(edge.source(camera) / segment.uri)
        assert facts.starts_with_keyframe and (facts.width, facts.height) == (320, 180)
    kinds = [e["type"] for e in events(sqlite_api, camera_id=str(camera["id"]))]
    assert kinds == ["camera_offline", "camera_online"]


def test_a_gstreamer_rtspclientsink_publisher_is_recorded(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    children: Children,
) -> None:
    camera = admin()
    pipeline = [
        "gst-launch-1.0", "-q",
        "videotestsrc", "num-buffers=200", "is-live=true", "!",
        "video/x-raw,width=320,height=180,framerate=20/1", "!",
        "x264enc", "tune=zerolatency", "key-int-max=40", "!", "h264parse", "!", "s.sink_0",
        "audiotestsrc", "num-buffers=430", "is-live=true", "!", "audioconvert", "!",
        "voaacenc", "!", "aacparse", "!", "s.sink_1",
        "rtspclientsink", "name=s", f"location=rtsp://127.0.0.1:{edge.port}/cam/{camera['id']}",
        "protocols=tcp", f"user-id={camera['rtsp_username']}",
        f"user-pw={camera['rtsp_password']}",
    ]  # fmt: skip
    run = children.popen(pipeline, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    hung = False
    try:
        output, _ = run.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        # Seen in one run of five to a dozen: gst-launch waiting at its end after all was
        # sent (no TEARDOWN on the wire). What is under test is the recording, checked below.
        run.kill()
        output, _ = run.communicate()
        hung = True
    eventually(lambda: not edge.edge.live_cameras)
    playlist = m3u8.load(str(edge.source(camera) / "index.m3u8"))
    # Seen once under load: gst-launch failing its TEARDOWN ("Could not send message"), the
    # edge having closed the session at the stream's end. The whole stream is recorded.
    assert hung or run.returncode == 0 or "Could not send message" in output, output
    assert sum(float(s.duration) for s in playlist.segments) >= 9, output
    first = edge.source(camera) / playlist.segments[0].uri
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(first)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"aac", "h264"}


def test_the_live_window_holds_the_last_ten_segments(
    sqlite_api: Api, admin: Callable[..., dict[str, object]]
) -> None:
    for running in start_edge(sqlite_api, segment_seconds=1.0):
        camera = admin()
        assert publish(running.url(camera), 14, rate=5, gop_s=1).returncode == 0
        eventually(lambda r=running: not r.edge.live_cameras)
        playlist = m3u8.load(str(running.source(camera) / "index.m3u8"))
        assert len(playlist.segments) == 10
        assert playlist.media_sequence >= 3


def test_a_wrong_password_gets_401_an_event_and_no_recording(
    edge: RunningEdge, admin: Callable[..., dict[str, object]], sqlite_api: Api
) -> None:
    camera = admin()
    done = publish(edge.url(camera, password="not-the-password"), 3)
    assert done.returncode != 0 and "401" in done.stderr
    refused = events(sqlite_api, type="publish_refused")
    assert refused and refused[0]["camera_id"] == camera["id"]
    assert refused[0]["detail"]["reason"] == "wrong credentials"  # type: ignore[index]
    assert not edge.source(camera).exists()


def test_an_unknown_or_disabled_camera_gets_404_and_an_event(
    edge: RunningEdge, admin: Callable[..., dict[str, object]], sqlite_api: Api
) -> None:
    unknown = {"id": "0" * 32, "rtsp_username": "cam-x", "rtsp_password": "x"}
    done = publish(edge.url(unknown), 3)
    assert done.returncode != 0 and "404" in done.stderr
    camera = admin()
    sqlite_api.client().post(f"/api/cameras/{camera['id']}/disable")
    done = publish(edge.url(camera), 3)
    assert done.returncode != 0 and "404" in done.stderr
    reasons = [e["detail"]["reason"] for e in events(sqlite_api, type="publish_refused")]  # type: ignore[index]
    assert reasons == ["camera disabled", "unknown camera"]
    assert not edge.source(camera).exists() and not edge.source(unknown).exists()


@pytest.mark.long
def test_a_publisher_killed_and_restarted_continues_the_playlist_after_a_discontinuity(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    children: Children,
) -> None:
    camera = admin()
    first = children.popen(publisher(edge.url(camera), 60), stderr=subprocess.DEVNULL)
    playlist_path = edge.source(camera) / "index.m3u8"
    eventually(lambda: playlist_path.exists() and "seg_000001.ts" in playlist_path.read_text())
    first.kill()
    first.wait()
    eventually(lambda: not edge.edge.live_cameras)
    before = m3u8.load(str(playlist_path))
    assert publish(edge.url(camera), 8).returncode == 0
    eventually(lambda: not edge.edge.live_cameras)
    after = m3u8.load(str(playlist_path))
    old = [s.uri for s in before.segments]
    new = [s for s in after.segments if s.uri not in old]
    assert new, "the second run added segments"
    assert new[0].discontinuity, "the jump is marked"
    numbers = [int(s.uri[4:10]) for s in after.segments]
    assert numbers == sorted(numbers) and numbers[-1] >= len(old) + 1
    assert after.media_sequence >= before.media_sequence


@pytest.mark.long
def test_twenty_flaps_leave_one_continuous_valid_playlist(
    edge: RunningEdge, admin: Callable[..., dict[str, object]], children: Children
) -> None:
    """A camera on a bad link: 20 connections in a row, each dropped (killed or ended) after
    a second or two, some before a segment was cut."""
    camera = admin()
    playlist_path = edge.source(camera) / "index.m3u8"
    for flap in range(20):
        run = children.popen(publisher(edge.url(camera), 30), stderr=subprocess.DEVNULL)
        eventually(lambda: camera["id"] in edge.edge.live_cameras)
        holds(lambda run=run: run.poll() is None, 0.2 + (flap % 3) * 0.4, what="the publisher")
        if flap % 2:
            run.kill()
        else:
            run.terminate()
        run.wait()
        eventually(lambda: not edge.edge.live_cameras)
    assert publish(edge.url(camera), 6).returncode == 0, "the camera is still welcome"
    eventually(lambda: not edge.edge.live_cameras)
    playlist = m3u8.load(str(playlist_path))
    numbers = [int(s.uri[4:10]) for s in playlist.segments]
    assert numbers == sorted(set(numbers)), "one sequence, nothing twice"
    assert playlist.media_sequence == numbers[0]
    # A publisher killed a moment after it started can leave FFmpeg's recorder listing a
    # segment it wrote nothing to: the watcher records none of it (not stored, not in the
    # recording index) and the origin shows it as a gap. Every other one plays.
    files = [edge.source(camera) / segment.uri for segment in playlist.segments]
    whole = [path for path in files if path.stat().st_size > 0]
    assert len(whole) >= 0.7 * len(files), [path.stat().st_size for path in files]
    for path in whole:
        assert segment_facts(path).starts_with_keyframe, path.name
    assert all(segment.duration > 0 for segment in playlist.segments)
    assert playlist.segments[-1].duration >= 0.5


def test_disabling_a_publishing_camera_cuts_it_off(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    sqlite_api: Api,
    children: Children,
) -> None:
    camera = admin()
    live = children.popen(publisher(edge.url(camera), 60), stderr=subprocess.DEVNULL)
    eventually(lambda: str(camera["id"]) in edge.edge.live_cameras)
    sqlite_api.client().post(f"/api/cameras/{camera['id']}/disable")
    started = time.monotonic()
    assert live.wait(20) != 0, "the publisher was cut off"
    assert time.monotonic() - started < 10
    refused = events(sqlite_api, camera_id=str(camera["id"]), type="publish_refused")
    assert refused[0]["detail"]["reason"] == "camera disabled"  # type: ignore[index]


def test_a_second_publisher_replaces_the_first(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    sqlite_api: Api,
    children: Children,
) -> None:
    camera = admin()
    first = children.popen(publisher(edge.url(camera), 30), stderr=subprocess.DEVNULL)
    playlist = edge.source(camera) / "index.m3u8"
    eventually(lambda: playlist.exists(), 20)  # the first is recording
    second = publish(edge.url(camera), 4)
    assert second.returncode == 0, second.stderr
    assert first.wait(15) != 0, "the first publisher was cut off"
    kinds = [e["type"] for e in events(sqlite_api, camera_id=str(camera["id"]))]
    assert kinds.count("camera_online") == 2


def raw_exchange(port: int, payload: bytes, wait: float = 3.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        conn.sendall(payload)
        chunks = []
        try:
            while chunk := conn.recv(4096):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_garbage_huge_heads_and_slow_clients_do_not_hurt_a_publishing_camera(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    children: Children,
) -> None:
    camera = admin()
    live = children.popen(publisher(edge.url(camera), 8), stderr=subprocess.PIPE, text=True)
    assert raw_exchange(edge.port, b"\x00\xffGARBAGE\r\n\r\n").startswith(b"RTSP/1.0 400")
    huge = b"OPTIONS rtsp://x/ RTSP/1.0\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    answer = raw_exchange(edge.port, huge)
    assert answer == b"" or answer.startswith(b"RTSP/1.0 400")
    started = time.monotonic()
    assert raw_exchange(edge.port, b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n", wait=30) == b""
    # Dropped after the request timeout (1.5 s here), not when the client gave up (30 s).
    assert time.monotonic() - started < 20, "a slow client is dropped after the request timeout"
    options = raw_exchange(edge.port, b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 7\r\n\r\n", wait=1)
    assert b"RTSP/1.0 200 OK" in options and b"CSeq: 7" in options and b"ANNOUNCE" in options
    _, errors = live.communicate(timeout=40)
    assert live.returncode == 0, errors
    assert len(m3u8.load(str(edge.source(camera) / "index.m3u8")).segments) >= 1


def test_ten_cameras_publishing_at_once_are_all_recorded(
    edge: RunningEdge,
    admin: Callable[..., dict[str, object]],
    children: Children,
) -> None:
    cameras = [admin(f"cam {n}") for n in range(10)]
    runs = [
        children.popen(publisher(edge.url(c), 8, size="160x90", rate=5), stderr=subprocess.PIPE)
        for c in cameras
    ]
    for run in runs:
        _, errors = run.communicate(timeout=60)
        assert run.returncode == 0, errors
    eventually(lambda: not edge.edge.live_cameras, timeout=30)
    for camera in cameras:
        playlist = m3u8.load(str(edge.source(camera) / "index.m3u8"))
        assert sum(float(s.duration) for s in playlist.segments) >= 6
