"""Delete what has aged out: recordings (source segments) after the retention period, and
rung segments once they have left their live window; a segment a playlist still names is
never deleted. What is deleted here is deleted from object storage too (through the same
uploads, after what was handed over before), and a recording's segments leave the recording
index first, in the same step: the index never names a segment that is gone (if the index
cannot be written, that camera's recording waits for the next sweep)."""

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Protocol

from video_service.edge.faults import TRANSIENT, Streak
from video_service.edge.settings import EdgeSettings
from video_service.shared.recording_index import RecordingIndex
from workers.base.layout import (
    MEDIA_PLAYLIST,
    SOURCE,
    MediaLayout,
    is_segment_name,
    segment_key,
    segment_number,
    skipped_segment,
)
from workers.base.spool import Uploads
from workers.engine.playlists import parse_source_window

log = logging.getLogger(__name__)


class Forget(Protocol):
    def __call__(self, camera_id: str, numbers: Collection[int], before: float) -> int: ...


async def sweep_forever(
    settings: EdgeSettings, uploads: Uploads, index: RecordingIndex | None = None
) -> None:
    live_keep_s = settings.segment_seconds * (settings.live_window + 3)
    layout = MediaLayout(settings.media_root)
    streak = Streak("the retention sweep")
    while True:
        try:
            deleted = await asyncio.to_thread(
                sweep_media,
                layout,
                now=time.time(),
                retention_s=settings.recording_retention_s,
                live_keep_s=live_keep_s,
                forget=index.forget if index is not None else None,
            )
        except OSError as error:
            streak.failed(error)
        else:
            streak.ok()
            if deleted:
                log.info("retention: deleted %d aged-out segments", len(deleted))
            for key in deleted:
                uploads.delete(key)
        await asyncio.sleep(settings.sweep_every_s)


def sweep_media(
    layout: MediaLayout,
    *,
    now: float,
    retention_s: float,
    live_keep_s: float,
    forget: Forget | None = None,
) -> list[str]:
    """Returns the storage keys of the segments deleted, for object storage to delete them.
    `forget`: the recording index's, told of a recording's segments before they go."""
    live = layout.live_dir()
    if not live.is_dir():
        return []
    deleted: list[str] = []
    for camera_dir in live.iterdir():
        if not camera_dir.is_dir():
            continue
        for folder in camera_dir.iterdir():
            if folder.is_dir():
                recording = folder.name == SOURCE
                keep_s = retention_s if recording else live_keep_s
                before = _forgetting(camera_dir.name, forget, now - keep_s) if recording else None
                gone = _sweep_folder(folder, now=now, keep_s=keep_s, before=before)
                deleted += [segment_key(camera_dir.name, folder.name, name) for name in gone]
    return deleted


def _forgetting(
    camera_id: str, forget: Forget | None, cutoff: float
) -> Callable[[list[str]], bool] | None:
    """What tells the index of the segments about to go: False if it could not be told."""
    if forget is None:
        return None

    def tell(names: list[str]) -> bool:
        numbers = [n for n in map(segment_number, names) if n is not None]
        try:
            forget(camera_id, numbers, cutoff)
        except TRANSIENT as error:
            log.warning("retention: camera %s's recording kept for now: the index could not "
                        "be told (%s)", camera_id, error)  # fmt: skip
            return False
        return True

    return tell


def _sweep_folder(
    folder: Path,
    *,
    now: float,
    keep_s: float,
    before: Callable[[list[str]], bool] | None = None,
) -> list[str]:
    named = _named(folder / MEDIA_PLAYLIST)
    aged: list[Path] = []
    for entry in folder.iterdir():
        segment = is_segment_name(entry.name)
        mark = skipped_segment(entry.name) is not None  # a rung's note of a segment given up
        if not (segment or mark) or entry.name in named:
            continue
        try:
            if now - entry.stat().st_mtime > keep_s:
                aged.append(entry)
        except FileNotFoundError:
            continue  # another sweep, or a rename in flight
    segments = [entry.name for entry in aged if is_segment_name(entry.name)]
    if before is not None and segments and not before(segments):
        return []
    deleted: list[str] = []
    for entry in aged:
        try:
            entry.unlink()
        except FileNotFoundError:
            continue
        if is_segment_name(entry.name):
            deleted.append(entry.name)
    return deleted


def _named(playlist: Path) -> set[str]:
    try:
        return {entry.uri for entry in parse_source_window(playlist.read_text()).entries}
    except FileNotFoundError:
        return set()
