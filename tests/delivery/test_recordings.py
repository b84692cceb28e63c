"""Recordings you can watch, through the real edge, API and origin: a camera recorded across
a 20 s gap gives two spans; a range across the gap plays as a signed VOD playlist with a
discontinuity at the gap and the recording's own program dates; hls.js in headless Chromium
starts it at the time asked for; an export is one MP4 of the range; an event's clip covers
the event; retention takes a span out of the index (and its playback then answers 404);
another site's key gets 403 everywhere."""

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest

from tests.api_harness import Api
from tests.delivery.test_playback import origin_api  # noqa: F401 (fixture)
from tests.edge_harness import RunningEdge, publish, start_edge, wait_until
from video_service.edge.retention import sweep_media
from workers.base.layout import MediaLayout

SEGMENT_S = 2.0
DRIVER = Path(__file__).parent.parent / "browser" / "play_recording.mjs"
FILE_DRIVER = Path(__file__).parent.parent / "browser" / "play_file.mjs"


@pytest.fixture
def recording_edge(origin_api: Api) -> Iterator[RunningEdge]:  # noqa: F811
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


def test_a_recording_across_a_gap_is_found_played_clipped_exported_and_retired(
    origin_api: Api,  # noqa: F811
    recording_edge: RunningEdge,
    tmp_path: Path,
) -> None:
    admin = origin_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    other = admin.post("/api/sites", json={"name": "Elsewhere"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site["id"]]}).json()["key"]  # fmt: skip
    stranger = admin.post("/api/keys", json={"name": "x", "scope": "viewer",
                                             "site_ids": [other["id"]]}).json()["key"]  # fmt: skip
    viewer = origin_api.client(key)
    cam = camera["id"]
    base = f"/api/cameras/{cam}"

    assert publish(recording_edge.url(camera), 8).returncode == 0
    time.sleep(20)
    assert publish(recording_edge.url(camera), 8).returncode == 0

    def listed() -> list[dict[str, str]]:
        spans: list[dict[str, str]] = viewer.get(f"{base}/recordings").json()["spans"]
        return spans

    wait_until(lambda: len(listed()) == 2 and seconds(listed()[1]["end"]) -
               seconds(listed()[1]["start"]) >= 6, 20)  # fmt: skip
    answer = viewer.get(f"{base}/recordings", params={"from": iso(time.time() - 600)}).json()
    first, second = answer["spans"]
    gap = seconds(second["start"]) - seconds(first["end"])
    assert 15 <= gap <= 30, answer
    assert [g["start"] for g in answer["gaps"]][1] == first["end"], answer
    paged = viewer.get(f"{base}/recordings", params={"from": iso(time.time() - 600), "limit": 1})
    assert len(paged.json()["spans"]) == 1 and paged.json()["next"] == first["end"]

    # The range across the gap, as a signed VOD playlist.
    start, end = seconds(first["start"]) + 1, seconds(second["end"]) - 1
    answer = viewer.get(f"{base}/playback", params={"start": iso(start), "end": iso(end)})
    assert answer.status_code == 200, answer.text
    playback = answer.json()
    assert playback["session_id"] is None and playback["cdn"] == "origin"
    assert 0.9 <= playback["offset_s"] <= 1.1 + SEGMENT_S
    player = httpx.Client(timeout=10)
    origin_api.clients.append(player)  # closed with the API
    fetched = player.get(playback["url"])
    assert fetched.status_code == 200, fetched.text
    vod = m3u8.loads(fetched.text)
    assert vod.playlist_type == "vod" and vod.is_endlist
    assert all(s.program_date_time is not None for s in vod.segments)
    marked = [i for i, s in enumerate(vod.segments) if s.discontinuity]
    assert len(marked) == 1, fetched.text
    before_gap, after_gap = vod.segments[marked[0] - 1], vod.segments[marked[0]]
    jump = (after_gap.program_date_time - before_gap.program_date_time).total_seconds()
    assert jump >= 15 + before_gap.duration, fetched.text
    assert vod.segments[0].program_date_time.timestamp() <= start
    assert vod.segments[-1].program_date_time.timestamp() + vod.segments[-1].duration >= end
    # Program dates are the recording's own (the edge's source playlist names the last few).
    source = m3u8.load(str(recording_edge.source(camera) / "index.m3u8"))
    recorded = {s.uri: s.current_program_date_time for s in source.segments}
    named = {s.uri.split("?")[0]: s.program_date_time for s in vod.segments}
    shared = set(recorded) & set(named)
    assert shared and all(abs((recorded[u] - named[u]).total_seconds()) < 0.002 for u in shared)
    segment = player.get(_absolute(playback["url"], vod.segments[0].uri))
    assert segment.status_code == 200 and segment.content[:1] == b"\x47"

    # hls.js in Chromium, through the web player: starts at the time asked for, and plays.
    wanted = seconds(second["start"]) + 3
    driven = subprocess.run(
        ["node", str(DRIVER), f"{origin_api.url}/player/", key, cam, iso(wanted), "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert driven.returncode == 0, driven.stderr
    result = json.loads(driven.stdout.strip().splitlines()[-1])
    assert result["playing"], result
    assert abs(result["wallClockAtStart"] / 1000 - wanted) <= SEGMENT_S + 0.5, result
    assert result["advanced"] >= 2, result
    assert result["mode"] == "recorded" and result["spans"] == 2, result

    # An export of the first span's middle: one MP4, the range's length within a segment.
    cut_start, cut_end = seconds(first["start"]) + 1, seconds(first["end"]) - 1
    exported = viewer.get(f"{base}/export", params={"start": iso(cut_start), "end": iso(cut_end)},
                          timeout=60)  # fmt: skip
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "video/mp4"
    assert "attachment" in exported.headers["content-disposition"]
    mp4 = tmp_path / "export.mp4"
    mp4.write_bytes(exported.content)
    probed = ffprobe(mp4)
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
    assert abs(float(probed["format"]["duration"]) - (cut_end - cut_start)) <= SEGMENT_S
    assert exported.content.index(b"moov") < exported.content.index(b"mdat")  # faststart
    assert not list((origin_api.settings.state_dir / "exports").iterdir())  # removed once sent
    # An export FFmpeg refuses (here an FFmpeg that refuses everything) is a 503 saying why;
    # nothing stays on the disk and its slot is given back (the two taken below prove it).
    refusing = tmp_path / "refusing-ffmpeg"
    refusing.write_text("#!/bin/sh\necho 'seg_000003.ts: Invalid data found' >&2\nexit 1\n")
    refusing.chmod(0o755)
    settings = origin_api.app_state.settings
    origin_api.app_state.settings = settings.model_copy(update={"ffmpeg": str(refusing)})
    try:
        failed = viewer.get(f"{base}/export", params={"start": iso(cut_start),
                                                      "end": iso(cut_end)})  # fmt: skip
    finally:
        origin_api.app_state.settings = settings
    assert failed.status_code == 503, failed.text
    assert "Invalid data found" in failed.json()["detail"], failed.text
    assert not list((origin_api.settings.state_dir / "exports").iterdir())
    # A node makes two exports at once (SPARC_EXPORTS_AT_ONCE); a third waits its turn: 503.
    slots = origin_api.app_state.export_slots
    assert slots.acquire(blocking=False) and slots.acquire(blocking=False)
    try:
        busy = viewer.get(f"{base}/export", params={"start": iso(cut_start),
                                                    "end": iso(cut_end)})  # fmt: skip
        assert busy.status_code == 503 and "too many exports" in busy.text, busy.text
    finally:
        slots.release()
        slots.release()
    played = subprocess.run(["node", str(FILE_DRIVER), str(mp4), "1.5"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    shown = json.loads(played.stdout.strip().splitlines()[-1])
    assert shown["playing"] and shown["advanced"] >= 1 and shown["width"] == 320, shown

    # An event posted from outside gets a clip around it.
    at = seconds(first["start"]) + 3
    posted = admin.post("/api/events", json={"events": [
        {"camera_id": cam, "type": "motion.start", "at": iso(at), "detail": {}}]})  # fmt: skip
    assert posted.status_code == 201, posted.text
    event = viewer.get("/api/events", params={"camera_id": cam, "type": "motion.start"}).json()
    event_id = event["data"][0]["id"]
    clip = viewer.get(f"/api/events/{event_id}/clip")
    assert clip.status_code == 200, clip.text
    clip_vod = m3u8.loads(player.get(clip.json()["url"]).text)
    clip_first = clip_vod.segments[0].program_date_time.timestamp()
    clip_last = clip_vod.segments[-1]
    assert clip_first <= at <= clip_last.program_date_time.timestamp() + clip_last.duration
    assert viewer.get("/api/events/999999/clip").status_code == 404
    assert viewer.get(f"/api/events/{2**63}/clip").status_code == 422

    # Another site's key: 403 everywhere; no key: 401.
    outsider = origin_api.client(stranger)
    whole = {"start": iso(start), "end": iso(end)}
    for path, params in [
        (f"{base}/recordings", {}),
        (f"{base}/playback", whole),
        (f"{base}/export", whole),
        (f"/api/events/{event_id}/clip", {}),
    ]:
        assert outsider.get(path, params=params).status_code == 403, path
        assert origin_api.client(None).get(path, params=params).status_code == 401, path

    # Refusals that say why.
    old = time.time() - 30 * 86400
    past = viewer.get(f"{base}/playback", params={"start": iso(old), "end": iso(old + 60)})
    assert past.status_code == 404 and "retention" in past.json()["detail"], past.text
    quiet = viewer.get(f"{base}/playback", params={"start": iso(start - 3600),
                                                   "end": iso(start - 3000)})  # fmt: skip
    assert quiet.status_code == 404 and "nothing recorded" in quiet.json()["detail"]
    too_long = viewer.get(f"{base}/export", params={"start": iso(start),
                                                    "end": iso(start + 3601)})  # fmt: skip
    assert too_long.status_code == 422 and "at most 1 hours" in too_long.text
    half = viewer.get(f"{base}/playback", params={"start": iso(start)})
    assert half.status_code == 422 and "both start and end" in half.text
    backwards = viewer.get(f"{base}/playback", params={"start": iso(end), "end": iso(start)})
    assert backwards.status_code == 422
    naive = viewer.get(f"{base}/playback", params={"start": "2026-01-01T00:00:00", "end": iso(end)})
    assert naive.status_code == 422

    # Retention takes the first span: out of the index, then off the disk and the store.
    now = time.time()
    keep = now - (seconds(first["end"]) + seconds(second["start"])) / 2
    deleted = sweep_media(
        MediaLayout(origin_api.settings.media_root), now=now, retention_s=keep,
        live_keep_s=3600, forget=origin_api.app_state.delivery.recordings.forget,
    )  # fmt: skip
    assert deleted, "retention deleted nothing"
    assert len(viewer.get(f"{base}/recordings").json()["spans"]) == 1
    gone = viewer.get(f"{base}/playback", params={"start": first["start"], "end": first["end"]})
    assert gone.status_code == 404, gone.text
    stale = player.get(playback["url"])  # the old URL: the VOD lists the second span only
    assert stale.status_code == 200 and "#EXT-X-DISCONTINUITY" not in stale.text


def _absolute(playlist_url: str, uri: str) -> str:
    return playlist_url.split("?")[0].rsplit("/", 1)[0] + "/" + uri
