"""Delete what has aged out: recordings (source segments) after the retention period, and
rung segments once they have left their live window; a segment a playlist still names is
never deleted."""

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

_SEGMENT = "seg_*.ts"
_URI = re.compile(r"^(seg_[^\s#]+\.ts)$", re.MULTILINE)


def sweep_media(
    media_root: Path, *, now: float, retention_s: float, live_keep_s: float
) -> list[str]:
    """Returns the storage keys (`live/{camera}/{rendition}/seg_N.ts`) of the segments
    deleted, for object storage to delete them too."""
    live = media_root / "live"
    if not live.is_dir():
        return []
    deleted: list[str] = []
    for camera_dir in live.iterdir():
        if not camera_dir.is_dir():
            continue
        for folder in camera_dir.iterdir():
            if folder.is_dir():
                keep_s = retention_s if folder.name == "source" else live_keep_s
                gone = _sweep_folder(folder, now=now, keep_s=keep_s)
                deleted += [f"live/{camera_dir.name}/{folder.name}/{name}" for name in gone]
    return deleted


def _sweep_folder(folder: Path, *, now: float, keep_s: float) -> list[str]:
    named = set(_URI.findall(_read(folder / "index.m3u8")))
    deleted: list[str] = []
    marks = folder.glob(".seg_*.skipped")  # a live rung's note of a segment it gave up on
    for segment in [*folder.glob(_SEGMENT), *marks]:
        if segment.name in named:
            continue
        try:
            if now - segment.stat().st_mtime > keep_s:
                segment.unlink()
                if not segment.name.startswith("."):
                    deleted.append(segment.name)
        except FileNotFoundError:
            continue  # another sweep, or a rename in flight
    return deleted


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
