"""One live segment through the ladder with the real Redis and FFmpeg: done in time, or
skipped past its deadline and shown to players as a gap."""

import json
import time
from pathlib import Path

import m3u8
import pytest
import redis

from tests.media import ffmpeg
from workers.base import redis_keys
from workers.base.layout import MediaLayout
from workers.base.settings import WorkerSettings
from workers.base.storage import LocalStorage
from workers.engine.live_ladder import run_live_segment
from workers.engine.playlists import build_aac_codec, build_avc_codec
from workers.engine.probe import probe_file

CAMERA = "c" * 32


def record_source(camera_dir: Path, size: str = "640x360", rate: int = 10) -> None:
    """Three 2 s source segments and a live playlist, as the edge's recorder writes them."""
    source = camera_dir / "source"
    source.mkdir(parents=True)
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", str(2 * rate), "-c:a", "aac",
           "-f", "hls", "-hls_time", "2", "-hls_list_size", "10",
           "-hls_flags", "program_date_time+omit_endlist",
           "-hls_segment_filename", str(source / "seg_%06d.ts"),
           str(source / "index.m3u8"))  # fmt: skip


def test_in_time_the_rungs_get_the_segment_past_the_deadline_a_gap(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    settings = WorkerSettings(state_dir=tmp_path, segment_seconds=2.0)
    camera_dir = MediaLayout(settings.media_root).camera_dir(CAMERA)
    record_source(camera_dir)
    now = time.time()

    done = run_live_segment(
        redis_client,
        settings,
        CAMERA,
        "seg_000000.ts",
        now - 1,
        storage=LocalStorage(settings.media_root),
    )
    assert done.outcome == "done" and "240p" in done.listed_at
    skipped = run_live_segment(
        redis_client,
        settings,
        CAMERA,
        "seg_000001.ts",
        now - 7,
        storage=LocalStorage(settings.media_root),
    )
    assert skipped.outcome == "skipped"
    assert not (camera_dir / "240p" / "seg_000001.ts").exists()
    run_live_segment(
        redis_client,
        settings,
        CAMERA,
        "seg_000002.ts",
        now,
        storage=LocalStorage(settings.media_root),
    )

    rung = m3u8.load(str(camera_dir / "240p" / "index.m3u8"))
    assert [s.uri for s in rung.segments] == ["seg_000000.ts", "seg_000001.ts", "seg_000002.ts"]
    assert [s.gap_tag for s in rung.segments] == [None, True, None]
    master = m3u8.load(str(camera_dir / "master.m3u8"))
    assert [p.uri for p in master.playlists] == ["source/index.m3u8", "240p/index.m3u8"]
    outcomes = [
        json.loads(f[b"outcome"])["outcome"]
        for _, f in redis_client.xrange(redis_keys.LADDER_OUTCOMES)
    ]
    assert outcomes == ["done", "skipped", "done"]


def test_the_planned_master_states_what_ffprobe_finds_in_every_rung(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    """No rung is probed to write the master: what it states (resolution, codecs with
    profile and level, frame rate, the bandwidth cap) is planned, and each rung's segment
    agrees with it."""
    settings = WorkerSettings(state_dir=tmp_path, segment_seconds=2.0)
    camera_dir = MediaLayout(settings.media_root).camera_dir(CAMERA)
    record_source(camera_dir, size="1280x720", rate=25)
    storage = LocalStorage(settings.media_root)
    done = run_live_segment(
        redis_client, settings, CAMERA, "seg_000000.ts", time.time(), storage=storage
    )
    assert done is not None and done.outcome == "done", done
    master = m3u8.load(str(camera_dir / "master.m3u8"))
    names = [p.uri.split("/")[0] for p in master.playlists]
    # 720p: the source copied when its bitrate allows, else encoded (this one: encoded).
    assert names[:3] == ["240p", "360p", "480p"] and names[3] in ("720p", "source"), names
    for variant in master.playlists:
        folder = variant.uri.split("/")[0]
        found = probe_file(camera_dir / folder / "seg_000000.ts", settings)
        info = variant.stream_info
        assert info.resolution == (found.video.width, found.video.height), folder
        video = build_avc_codec(found.video.profile, found.video.level)
        assert found.audio is not None
        assert info.codecs == f"{video},{build_aac_codec(found.audio.profile)}", folder
        assert info.frame_rate == pytest.approx(25.0), folder
        size = (camera_dir / folder / "seg_000000.ts").stat().st_size
        assert info.bandwidth >= size * 8 / 2.0 * 0.5, folder  # the cap, not a guess
