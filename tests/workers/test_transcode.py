"""The ladder from real files, checked the way a player and ffprobe would see it."""

from pathlib import Path

import pytest

from tests.media import (
    FIVE,
    assert_aligned_ladder,
    concat_segments,
    ffmpeg,
    media_segments,
    video_frame_hashes,
)
from workers.base.settings import WorkerSettings
from workers.engine.errors import BadInputError, InputNotAllowed, InputNotFound, UnsupportedInput
from workers.engine.file_job import Report, run_transcode


def test_1080p_gives_five_aligned_rungs_with_the_source_copied_on_top(
    source_1080p: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    reports: list[Report] = []
    result = run_transcode(str(source_1080p), tmp_path / "out", settings, on_report=reports.append)
    assert [(r.name, r.copy) for r in result.plan.rungs][-1] == ("1080p", True)
    assert_aligned_ladder(tmp_path / "out", FIVE)
    assert reports and reports[-1].percent == 100.0
    assert all(r.speed is None or r.speed > 0 for r in reports)
    top = [path for path, _ in media_segments(tmp_path / "out" / "1080p")]
    joined = concat_segments(top, tmp_path / "top.ts")
    assert video_frame_hashes(joined) == video_frame_hashes(source_1080p)
    assert not list(tmp_path.glob(".out.*")), "staging left behind"


def test_360p_source_gives_only_the_rungs_up_to_360p(
    source_360p: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    run_transcode(str(source_360p), tmp_path / "out", settings)
    assert_aligned_ladder(tmp_path / "out", ["240p", "360p"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "240p", "360p", "master.m3u8",
    ]  # fmt: skip


def test_hevc_source_is_re_encoded_to_h264(
    media_dir: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    source = media_dir / "hevc.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=5", "-t", "7",
           "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
           "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    result = run_transcode(str(source), tmp_path / "out", settings)
    assert not any(rung.copy for rung in result.plan.rungs)
    assert_aligned_ladder(tmp_path / "out", FIVE)
    top = [path for path, _ in media_segments(tmp_path / "out" / "1080p")]
    assert video_frame_hashes(concat_segments(top, tmp_path / "top.ts")) != video_frame_hashes(
        source
    )


def test_4k_source_is_scaled_down_never_copied(
    media_dir: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    source = media_dir / "uhd.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=5", "-t", "7", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    result = run_transcode(str(source), tmp_path / "out", settings)
    assert [r.copy for r in result.plan.rungs] == [False] * 5
    assert_aligned_ladder(tmp_path / "out", FIVE)


def test_variable_frame_rate_input_keeps_keyframes_aligned(
    media_dir: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    source = media_dir / "vfr.mkv"
    # Drop frames in bursts: the timestamps step by 1/20 s, then by 3/20 s.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=20", "-t", "13",
           "-vf", "select='lt(mod(n\\,40)\\,20)+not(mod(n\\,3))'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3M", str(source))  # fmt: skip
    result = run_transcode(str(source), tmp_path / "out", settings)
    assert [r.copy for r in result.plan.rungs] == [False, False]
    assert_aligned_ladder(tmp_path / "out", ["240p", "360p"])


def _audio_only(path: Path) -> None:
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300", "-t", "2", "-c:a", "aac", str(path))


def _text(path: Path) -> None:
    path.write_text("this is not a video\n" * 50)


def _truncated_moov_at_end(path: Path, source: Path) -> None:
    path.write_bytes(source.read_bytes()[:60_000])


def _truncated_faststart(path: Path, source: Path) -> None:
    whole = path.with_suffix(".whole.mp4")
    ffmpeg("-i", str(source), "-c", "copy", "-movflags", "+faststart", str(whole))
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])


@pytest.mark.parametrize(
    ("kind", "error", "message"),
    [
        ("audio-only", UnsupportedInput, "no video stream"),
        ("text", UnsupportedInput, "not a video file"),
        ("truncated", UnsupportedInput, "truncated"),
        ("truncated-faststart", UnsupportedInput, "damaged or truncated"),
        ("missing", InputNotFound, "does not exist"),
        ("empty", UnsupportedInput, "empty"),
        ("concat", InputNotAllowed, "'concat'"),
        ("subfile", InputNotAllowed, "'subfile'"),
        ("outside", InputNotAllowed, "outside the allowed input roots"),
        ("http", InputNotAllowed, "http: inputs are disabled"),
    ],
)
def test_bad_input_fails_clearly_and_leaves_nothing(
    kind: str,
    error: type[BadInputError],
    message: str,
    source_1080p: Path,
    settings: WorkerSettings,
    tmp_path: Path,
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = inputs / "clip.mp4"
    raw = {
        "concat": f"concat:{source_1080p}|{source_1080p}",
        "subfile": f"subfile,,start,0,end,1000,,:{source_1080p}",
        "outside": "file:/etc/hostname",
        "http": "http://127.0.0.1:9/clip.mp4",
    }.get(kind, str(path))
    makers = {
        "audio-only": lambda: _audio_only(path),
        "text": lambda: _text(path),
        "truncated": lambda: _truncated_moov_at_end(path, source_1080p),
        "truncated-faststart": lambda: _truncated_faststart(path, source_1080p),
        "empty": lambda: path.write_bytes(b""),
    }
    if kind in makers:
        makers[kind]()
    with pytest.raises(error, match=message):
        run_transcode(raw, tmp_path / "out", settings)
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("in", "state"))
    assert leftovers == []
