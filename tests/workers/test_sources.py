import re
from pathlib import Path

import pytest

from workers.base.settings import WorkerSettings
from workers.engine.errors import InputNotAllowed, InputNotFound, UnsupportedInput
from workers.engine.inputs import SourceKind, parse_input


@pytest.fixture
def rooted(tmp_path: Path) -> WorkerSettings:
    return WorkerSettings(allowed_roots=[tmp_path / "media"])


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("concat:/a.ts|/b.ts", "'concat'"),
        ("subfile,,start,0,end,10,,:/etc/passwd", "'subfile'"),
        ("pipe:0", "'pipe'"),
        ("data:video/mp4;base64,AAAA", "'data'"),
        ("tcp://127.0.0.1:9", "'tcp'"),
        ("crypto+file:/etc/passwd", "'crypto+file'"),
    ],
)
def test_ffmpeg_protocols_are_refused_by_name(rooted: WorkerSettings, raw: str, named: str) -> None:
    with pytest.raises(InputNotAllowed, match=re.escape(named)):
        parse_input(raw, rooted)


def test_file_outside_the_roots_is_refused(rooted: WorkerSettings) -> None:
    with pytest.raises(InputNotAllowed, match="outside the allowed input roots"):
        parse_input("file:/etc/hostname", rooted)
    with pytest.raises(InputNotAllowed, match="outside"):
        parse_input("/etc/hostname", rooted)


def test_a_file_named_on_this_machines_command_line_is_read_wherever_it_is(
    rooted: WorkerSettings,
) -> None:
    source = parse_input("/etc/hostname", rooted, named_here=True)
    assert source.kind is SourceKind.FILE and source.url == "file:/etc/hostname"
    with pytest.raises(InputNotAllowed, match="'concat' is not allowed"):
        parse_input("concat:/etc/hostname", rooted, named_here=True)


def test_symlink_out_of_the_roots_is_refused(rooted: WorkerSettings, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "escape.mp4").symlink_to("/etc/hostname")
    with pytest.raises(InputNotAllowed):
        parse_input(str(tmp_path / "media" / "escape.mp4"), rooted)


def test_http_only_when_enabled(rooted: WorkerSettings) -> None:
    with pytest.raises(InputNotAllowed, match="SPARC_ALLOW_HTTP"):
        parse_input("http://example.test/a.mp4", rooted)
    enabled = rooted.model_copy(update={"allow_http": True})
    assert parse_input("https://example.test/a.mp4", enabled).kind is SourceKind.HTTP


def test_missing_and_empty_files(rooted: WorkerSettings, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    with pytest.raises(InputNotFound, match="does not exist"):
        parse_input(str(tmp_path / "media" / "nope.mp4"), rooted)
    (tmp_path / "media" / "empty.mp4").write_bytes(b"")
    with pytest.raises(UnsupportedInput, match="empty"):
        parse_input(str(tmp_path / "media" / "empty.mp4"), rooted)


def test_local_file_goes_with_the_file_protocol(rooted: WorkerSettings, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    clip = tmp_path / "media" / "a:b.mp4"
    clip.write_bytes(b"x")
    ref = parse_input(str(clip), rooted)
    assert ref.url == f"file:{clip}"
    assert ref.protocol_whitelist == "file"


def test_rtsp_is_a_network_source(rooted: WorkerSettings) -> None:
    ref = parse_input("rtsp://cam.local:8554/front", rooted)
    assert ref.kind is SourceKind.RTSP and ref.is_network


def test_a_comma_in_a_path_is_no_protocol(rooted: WorkerSettings, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    clip = tmp_path / "media" / "clip,v2.mp4"
    clip.write_bytes(b"x")
    assert parse_input(str(clip), rooted).path == clip
