"""Recordings you can watch, through the real edge, API and origin: a camera recorded across
a gap gives two spans; a range across the gap plays as a signed VOD playlist with a
discontinuity at the gap and the recording's own program dates; hls.js in headless Chromium
starts it at the time asked for; an export is one MP4 of the range; an event's clip covers
the event; retention takes a span out of the index (and its playback then answers 404);
another site's key gets 403 everywhere."""

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import m3u8
import pytest

from tests.api_harness import Api, api_user
from tests.console_page import watch_camera
from tests.edge_harness import RunningEdge, publish, start_edge
from tests.waiting import eventually, holds
from video_service.edge.retention import sweep_media
from workers.base.layout import MediaLayout

SEGMENT_S = 2.0  # as `origin_api` has it
GAP_S = 5.0
FILE_DRIVER = Path(__file__).parent.parent / "browser" / "play_file.mjs"


@pytest.fixture
def recording_edge(origin_api: Api) -> Iterator[RunningEdge]:
    # A live window of 3: older segments leave the playlist, so retention may take them.
    yield from start_edge(origin_api, live_window=3)


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found: dict[str, Any] = json.loads(out)
    return found


@dataclass
class Scene:
    """A camera recorded twice with a gap between: who may watch it and what was recorded."""

    api: Api
    edge: RunningEdge
    camera: dict[str, Any]
    viewer: httpx.Client
    stranger: str  # a viewer key of another site
    first: dict[str, str]  # the two spans
    second: dict[str, str]

    @property
    def base(self) -> str:
        return f"/api/cameras/{self.camera['id']}"

    @property
    def across(self) -> tuple[float, float]:
        """A range from inside the first span to inside the second."""
        return seconds(self.first["start"]) + 1, seconds(self.second["end"]) - 1


@pytest.mark.long
def test_a_recording_across_a_gap_is_found_played_clipped_exported_and_retired(
    origin_api: Api, recording_edge: RunningEdge, tmp_path: Path
) -> None:
    scene = _two_spans_with_a_gap(origin_api, recording_edge)
    playback_url = _the_range_plays_as_a_signed_vod_playlist(scene)
    _hls_js_starts_at_the_time_asked_for(scene)
    _an_export_is_one_mp4_of_the_range(scene, tmp_path)
    event_id = _an_event_gets_a_clip_around_it(scene)
    _another_sites_key_is_refused_everywhere(scene, event_id)
    _refusals_say_why(scene)
    _retention_takes_the_first_span(scene, playback_url)


def _two_spans_with_a_gap(api: Api, edge: RunningEdge) -> Scene:
    admin = api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    other = admin.post("/api/sites", json={"name": "Elsewhere"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    stranger = admin.post("/api/keys", json={"name": "x", "scope": "viewer",
                                             "site_ids": [other["id"]]}).json()["key"]  # fmt: skip
    viewer = api.client(key)
    base = f"/api/cameras/{camera['id']}"

    def listed() -> list[dict[str, str]]:
        spans: list[dict[str, str]] = viewer.get(f"{base}/recordings").json()["spans"]
        return spans

    def segments() -> int:
        return len(list(edge.source(camera).glob("seg_*.ts")))

    assert publish(edge.url(camera), 8).returncode == 0
    eventually(lambda: len(listed()) == 1, 20)
    # The camera away (once the edge has closed its recording: its last segment is written
    # then): nothing is recorded meanwhile.
    eventually(lambda: not edge.edge.live_cameras, 10, what="the edge letting the camera go")
    recorded = segments()
    holds(lambda: segments() == recorded and not edge.edge.live_cameras, GAP_S, what="the gap")
    assert publish(edge.url(camera), 8).returncode == 0
    eventually(lambda: len(listed()) == 2 and seconds(listed()[1]["end"]) -
               seconds(listed()[1]["start"]) >= 6, 20)  # fmt: skip
    answer = viewer.get(f"{base}/recordings", params={"from": iso(time.time() - 600)}).json()
    first, second = answer["spans"]
    gap = seconds(second["start"]) - seconds(first["end"])
    assert GAP_S <= gap <= GAP_S + 10, answer
    assert [g["start"] for g in answer["gaps"]][1] == first["end"], answer
    paged = viewer.get(f"{base}/recordings", params={"from": iso(time.time() - 600), "limit": 1})
    assert len(paged.json()["spans"]) == 1 and paged.json()["next"] == first["end"]
    return Scene(api, edge, camera, viewer, stranger, first, second)


def _the_range_plays_as_a_signed_vod_playlist(scene: Scene) -> str:
    """With a discontinuity at the gap and the recording's own program dates."""
    start, end = scene.across
    params = {"start": iso(start), "end": iso(end)}
    answer = scene.viewer.get(f"{scene.base}/playback", params=params)
    assert answer.status_code == 200, answer.text
    playback = answer.json()
    assert playback["session_id"] is None and playback["cdn"] == "origin"
    assert 0.9 <= playback["offset_s"] <= 1.1 + SEGMENT_S
    player = scene.api.client(None)
    fetched = player.get(playback["url"])
    assert fetched.status_code == 200, fetched.text
    vod = m3u8.loads(fetched.text)
    assert vod.playlist_type == "vod" and vod.is_endlist
    assert all(s.program_date_time is not None for s in vod.segments)
    marked = [i for i, s in enumerate(vod.segments) if s.discontinuity]
    assert len(marked) == 1, fetched.text
    before_gap, after_gap = vod.segments[marked[0] - 1], vod.segments[marked[0]]
    jump = (after_gap.program_date_time - before_gap.program_date_time).total_seconds()
    assert jump >= GAP_S + before_gap.duration, fetched.text
    assert vod.segments[0].program_date_time.timestamp() <= start
    assert vod.segments[-1].program_date_time.timestamp() + vod.segments[-1].duration >= end
    # Program dates are the recording's own (the edge's source playlist names the last few).
    source = m3u8.load(str(scene.edge.source(scene.camera) / "index.m3u8"))
    recorded = {s.uri: s.current_program_date_time for s in source.segments}
    named = {s.uri.split("?")[0]: s.program_date_time for s in vod.segments}
    shared = set(recorded) & set(named)
    assert shared and all(abs((recorded[u] - named[u]).total_seconds()) < 0.002 for u in shared)
    segment = player.get(_absolute(playback["url"], vod.segments[0].uri))
    assert segment.status_code == 200 and segment.content[:1] == b"\x47"
    return str(playback["url"])


def _hls_js_starts_at_the_time_asked_for(scene: Scene) -> None:
    """hls.js in Chromium, through the console's camera page linked to a time (an old web
    player's link, `#camera=&at=`, which becomes `/cameras/ID?at=`): starts at the time
    asked for, plays, and the page's timeline has both spans."""
    wanted = seconds(scene.second["start"]) + 3
    api_user(scene.api, "rita", "operator", scene.camera["site_id"])
    at = urlencode({"at": iso(wanted)})
    seen = watch_camera(scene.api.url, "rita", f"/player/#camera={scene.camera['id']}&{at}", 3)
    assert seen["playing"] and seen["state"] == "recording", seen
    assert str(seen["url"]).endswith(f"/cameras/{scene.camera['id']}?{at}"), seen
    assert abs(seen["clock"]["firstWallClock"] / 1000 - wanted) <= SEGMENT_S + 0.5, seen
    assert seen["advanced"] >= 2, seen
    assert seen["spans"] == "Recorded spans (2)", seen


def _an_export_is_one_mp4_of_the_range(scene: Scene, tmp_path: Path) -> None:
    """The first span's middle, as one MP4 within a segment of the range's length; an export
    FFmpeg refuses is a 503 saying why; a third at once on a node is a 503."""
    cut_start, cut_end = seconds(scene.first["start"]) + 1, seconds(scene.first["end"]) - 1
    cut = {"start": iso(cut_start), "end": iso(cut_end)}
    exports = scene.api.settings.state_dir / "exports"
    exported = scene.viewer.get(f"{scene.base}/export", params=cut, timeout=60)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "video/mp4"
    assert "attachment" in exported.headers["content-disposition"]
    mp4 = tmp_path / "export.mp4"
    mp4.write_bytes(exported.content)
    probed = ffprobe(mp4)
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
    assert abs(float(probed["format"]["duration"]) - (cut_end - cut_start)) <= SEGMENT_S
    assert exported.content.index(b"moov") < exported.content.index(b"mdat")  # faststart
    assert not list(exports.iterdir())  # removed once sent
    # An FFmpeg that refuses everything: nothing stays on the disk, and its slot is given
    # back (the two taken below prove it).
    refusing = tmp_path / "refusing-ffmpeg"
    refusing.write_text("#!/bin/sh\necho 'seg_000003.ts: Invalid data found' >&2\nexit 1\n")
    refusing.chmod(0o755)
    state = scene.api.app_state
    settings = state.settings
    state.settings = settings.model_copy(update={"ffmpeg": str(refusing)})
    try:
        failed = scene.viewer.get(f"{scene.base}/export", params=cut)
    finally:
        state.settings = settings
    assert failed.status_code == 503, failed.text
    assert "Invalid data found" in failed.json()["detail"], failed.text
    assert not list(exports.iterdir())
    # A node makes two exports at once (SPARC_EXPORTS_AT_ONCE); a third waits its turn: 503.
    slots = state.export_slots
    assert slots.acquire(blocking=False) and slots.acquire(blocking=False)
    try:
        busy = scene.viewer.get(f"{scene.base}/export", params=cut)
        assert busy.status_code == 503 and "too many exports" in busy.text, busy.text
    finally:
        slots.release()
        slots.release()
    played = subprocess.run(["node", str(FILE_DRIVER), str(mp4), "1.5"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    shown = json.loads(played.stdout.strip().splitlines()[-1])
    assert shown["playing"] and shown["advanced"] >= 1 and shown["width"] == 320, shown


def _an_event_gets_a_clip_around_it(scene: Scene) -> int:
    at = seconds(scene.first["start"]) + 3
    cam = scene.camera["id"]
    posted = scene.api.client().post("/api/events", json={"events": [
        {"camera_id": cam, "type": "motion.start", "at": iso(at), "detail": {}}]})  # fmt: skip
    assert posted.status_code == 201, posted.text
    event = scene.viewer.get("/api/events", params={"camera_id": cam, "type": "motion.start"})
    event_id = int(event.json()["data"][0]["id"])
    clip = scene.viewer.get(f"/api/events/{event_id}/clip")
    assert clip.status_code == 200, clip.text
    clip_vod = m3u8.loads(scene.api.client(None).get(clip.json()["url"]).text)
    clip_first = clip_vod.segments[0].program_date_time.timestamp()
    clip_last = clip_vod.segments[-1]
    assert clip_first <= at <= clip_last.program_date_time.timestamp() + clip_last.duration
    assert scene.viewer.get("/api/events/999999/clip").status_code == 404
    assert scene.viewer.get(f"/api/events/{2**63}/clip").status_code == 422
    return event_id


def _another_sites_key_is_refused_everywhere(scene: Scene, event_id: int) -> None:
    """403 with another site's key, 401 with none."""
    start, end = scene.across
    whole = {"start": iso(start), "end": iso(end)}
    outsider = scene.api.client(scene.stranger)
    nobody = scene.api.client(None)
    for path, params in [
        (f"{scene.base}/recordings", {}),
        (f"{scene.base}/playback", whole),
        (f"{scene.base}/export", whole),
        (f"/api/events/{event_id}/clip", {}),
    ]:
        assert outsider.get(path, params=params).status_code == 403, path
        assert nobody.get(path, params=params).status_code == 401, path


def _refusals_say_why(scene: Scene) -> None:
    start, end = scene.across
    base, viewer = scene.base, scene.viewer

    def playback(**params: str) -> httpx.Response:
        return viewer.get(f"{base}/playback", params=params)

    old = time.time() - 30 * 86400
    past = playback(start=iso(old), end=iso(old + 60))
    assert past.status_code == 404 and "retention" in past.json()["detail"], past.text
    quiet = playback(start=iso(start - 3600), end=iso(start - 3000))
    assert quiet.status_code == 404 and "nothing recorded" in quiet.json()["detail"]
    too_long = viewer.get(f"{base}/export", params={"start": iso(start),
                                                    "end": iso(start + 3601)})  # fmt: skip
    assert too_long.status_code == 422 and "at most 1 hours" in too_long.text
    half = playback(start=iso(start))
    assert half.status_code == 422 and "both start and end" in half.text
    assert playback(start=iso(end), end=iso(start)).status_code == 422  # backwards
    assert playback(start="2026-01-01T00:00:00", end=iso(end)).status_code == 422  # naive


def _retention_takes_the_first_span(scene: Scene, playback_url: str) -> None:
    """Out of the index, then off the disk and the store; its playback then answers 404."""
    now = time.time()
    keep = now - (seconds(scene.first["end"]) + seconds(scene.second["start"])) / 2
    deleted = sweep_media(
        MediaLayout(scene.api.settings.media_root), now=now, retention_s=keep,
        live_keep_s=3600, forget=scene.api.app_state.delivery.recordings.forget,  # type: ignore[union-attr]
    )  # fmt: skip
    assert deleted, "retention deleted nothing"
    assert len(scene.viewer.get(f"{scene.base}/recordings").json()["spans"]) == 1
    first = {"start": scene.first["start"], "end": scene.first["end"]}
    gone = scene.viewer.get(f"{scene.base}/playback", params=first)
    assert gone.status_code == 404, gone.text
    stale = scene.api.client(None).get(playback_url)  # the old URL: the second span only
    assert stale.status_code == 200 and "#EXT-X-DISCONTINUITY" not in stale.text


def _absolute(playlist_url: str, uri: str) -> str:
    return playlist_url.split("?")[0].rsplit("/", 1)[0] + "/" + uri
