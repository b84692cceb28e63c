"""One live segment through the ladder with the real Redis and FFmpeg: done in time, or
skipped past its deadline and shown to players as a gap."""

import json
import time
from pathlib import Path

import m3u8
import redis

from tests.conftest import ffmpeg
from workers.layout import MediaLayout
from workers.live_ladder import OUTCOMES, run_live_segment
from workers.settings import WorkerSettings
from workers.storage import InPlace

CAMERA = "c" * 32


def record_source(camera_dir: Path) -> None:
    """Three 2 s source segments and a live playlist, as the edge's recorder writes them."""
    source = camera_dir / "source"
    source.mkdir(parents=True)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=10",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-c:a", "aac",
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
        redis_client, settings, CAMERA, "seg_000000.ts", now - 1, uploads=InPlace()
    )
    assert done.outcome == "done" and "240p" in done.listed_at
    skipped = run_live_segment(
        redis_client, settings, CAMERA, "seg_000001.ts", now - 7, uploads=InPlace()
    )
    assert skipped.outcome == "skipped"
    assert not (camera_dir / "240p" / "seg_000001.ts").exists()
    run_live_segment(redis_client, settings, CAMERA, "seg_000002.ts", now, uploads=InPlace())

    rung = m3u8.load(str(camera_dir / "240p" / "index.m3u8"))
    assert [s.uri for s in rung.segments] == ["seg_000000.ts", "seg_000001.ts", "seg_000002.ts"]
    assert [s.gap_tag for s in rung.segments] == [None, True, None]
    master = m3u8.load(str(camera_dir / "master.m3u8"))
    assert [p.uri for p in master.playlists] == ["240p/index.m3u8", "source/index.m3u8"]
    outcomes = [json.loads(f[b"outcome"])["outcome"] for _, f in redis_client.xrange(OUTCOMES)]
    assert outcomes == ["done", "skipped", "done"]
