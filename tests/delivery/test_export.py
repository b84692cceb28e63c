"""An export that cannot be made says why and leaves nothing behind: a corrupt segment is
FFmpeg's refusal, a disk without room is refused before anything is written. (The export
that works, through the API, is in test_recordings.py.)"""

import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from video_service.delivery import export
from video_service.delivery.errors import ExportFailed
from video_service.delivery.export import export_mp4
from video_service.delivery.recorded_ranges import TimeRange
from video_service.shared.recording_index import Recorded
from workers.base.layout import SOURCE, segment_key, source_segment_name
from workers.base.storage import LocalStorage

CAMERA = "0" * 32


def _store(tmp_path: Path, *contents: bytes) -> tuple[LocalStorage, list[Recorded]]:
    store = LocalStorage(tmp_path / "media")
    entries = []
    for number, data in enumerate(contents):
        key = segment_key(CAMERA, SOURCE, source_segment_name(number))
        store.put_bytes(key, data)
        entries.append(Recorded(1000.0 + 2 * number, 2.0, len(data), number))
    return store, entries


def _segment(tmp_path: Path) -> bytes:
    out = tmp_path / "one.ts"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=160x90:rate=10", "-t", "2", "-c:v", "libx264", "-g", "20",
         "-f", "mpegts", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def test_a_segment_ffmpeg_refuses_is_an_export_failed_with_its_reason(tmp_path: Path) -> None:
    good = _segment(tmp_path)
    store, entries = _store(tmp_path, good, b"\x00garbage, not MPEG-TS\n" * 100)
    workdir = tmp_path / "exports"
    made = export_mp4(store, CAMERA, entries[:1], TimeRange(1000, 1002), ffmpeg="ffmpeg",
                      workdir=workdir)  # fmt: skip
    assert made.path.stat().st_size > 0
    made.remove()
    with pytest.raises(ExportFailed, match=r"remux failed \(FFmpeg exit \d+\): \S"):
        export_mp4(store, CAMERA, entries[1:], TimeRange(1002, 1004), ffmpeg="ffmpeg",
                   workdir=workdir)  # fmt: skip
    assert not list(workdir.iterdir())  # nothing left behind


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def test_a_disk_without_room_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, entries = _store(tmp_path, b"\x47" * 188 * 1000)
    workdir = tmp_path / "exports"
    free = export.FREE_MARGIN_BYTES + 188 * 1000  # room for one copy, not two
    monkeypatch.setattr(shutil, "disk_usage", lambda _: _Usage(free * 2, free, free))
    with pytest.raises(ExportFailed, match="no room for the export on this node"):
        export_mp4(store, CAMERA, entries, TimeRange(1000, 1002), ffmpeg="ffmpeg",
                   workdir=workdir)  # fmt: skip
    assert not list(workdir.iterdir())
