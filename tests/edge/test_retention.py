import os
from pathlib import Path

from video_service.edge.retention import sweep_media
from workers.base.layout import MediaLayout

NOW = 2_000_000_000.0
DAY = 86_400.0


def segment(folder: Path, name: str, age_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\x47" * 188)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def test_recordings_go_after_retention_and_rungs_after_their_window(tmp_path: Path) -> None:
    camera = tmp_path / "live" / "cam1"
    old_recording = segment(camera / "source", "seg_000001.ts", 8 * DAY)
    kept_recording = segment(camera / "source", "seg_000500.ts", 6 * DAY)
    listed_but_old = segment(camera / "source", "seg_000900.ts", 9 * DAY)
    (camera / "source" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:6.0,\nseg_000900.ts\n")
    old_rung = segment(camera / "240p", "seg_000498.ts", 120)
    fresh_rung = segment(camera / "240p", "seg_000499.ts", 10)
    listed_rung = segment(camera / "240p", "seg_000400.ts", 500)
    old_mark = segment(camera / "240p", ".seg_000300.ts.skipped", 500)
    (camera / "240p" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:6.0,\nseg_000400.ts\n")

    deleted = sweep_media(MediaLayout(tmp_path), now=NOW, retention_s=7 * DAY, live_keep_s=78)

    assert sorted(deleted) == ["live/cam1/240p/seg_000498.ts", "live/cam1/source/seg_000001.ts"]
    assert not old_recording.exists() and not old_rung.exists() and not old_mark.exists()
    assert kept_recording.exists() and fresh_rung.exists()
    assert listed_but_old.exists() and listed_rung.exists(), "a listed segment stays"


def test_an_empty_media_root_is_fine(tmp_path: Path) -> None:
    assert (
        sweep_media(MediaLayout(tmp_path / "nothing"), now=NOW, retention_s=1, live_keep_s=1) == []
    )
