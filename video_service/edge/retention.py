"""Delete what has aged out: recordings (source segments) after the retention period, and
rung segments once they have left their live window; a segment a playlist still names is
never deleted. What is deleted here is deleted from object storage too (through the same
uploads, after what was handed over before)."""

import asyncio
import logging
import time
from pathlib import Path

from video_service.edge.faults import Streak
from video_service.edge.settings import EdgeSettings
from workers.layout import (
    MEDIA_PLAYLIST,
    SOURCE,
    MediaLayout,
    is_segment_name,
    segment_key,
    skipped_segment,
)
from workers.playlists import parse_source_window
from workers.storage import Uploads

log = logging.getLogger(__name__)


async def sweep_forever(settings: EdgeSettings, uploads: Uploads) -> None:
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
    layout: MediaLayout, *, now: float, retention_s: float, live_keep_s: float
) -> list[str]:
    """Returns the storage keys of the segments deleted, for object storage to delete them."""
    live = layout.live_dir()
    if not live.is_dir():
        return []
    deleted: list[str] = []
    for camera_dir in live.iterdir():
        if not camera_dir.is_dir():
            continue
        for folder in camera_dir.iterdir():
            if folder.is_dir():
                keep_s = retention_s if folder.name == SOURCE else live_keep_s
                gone = _sweep_folder(folder, now=now, keep_s=keep_s)
                deleted += [segment_key(camera_dir.name, folder.name, name) for name in gone]
    return deleted


def _sweep_folder(folder: Path, *, now: float, keep_s: float) -> list[str]:
    named = _named(folder / MEDIA_PLAYLIST)
    deleted: list[str] = []
    for entry in folder.iterdir():
        segment = is_segment_name(entry.name)
        mark = skipped_segment(entry.name) is not None  # a rung's note of a segment given up
        if not (segment or mark) or entry.name in named:
            continue
        try:
            if now - entry.stat().st_mtime > keep_s:
                entry.unlink()
                if segment:
                    deleted.append(entry.name)
        except FileNotFoundError:
            continue  # another sweep, or a rename in flight
    return deleted


def _named(playlist: Path) -> set[str]:
    try:
        return {entry.uri for entry in parse_source_window(playlist.read_text()).entries}
    except FileNotFoundError:
        return set()
