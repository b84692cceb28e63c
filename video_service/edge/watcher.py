"""Notice each segment a camera's recorder closes (within a fifth of a second), hand it to
storage, then the playlist that names it, add it to the recording index, and tell the ladder
scheduler.

One watcher per camera lives as long as the edge: what it has seen and handed to storage
carries over a reconnect, so a camera that publishes again does not upload its window twice.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from video_service.edge.directory import CameraAuth
from video_service.edge.faults import TRANSIENT, Streak
from video_service.edge.metrics import edge_metrics
from video_service.edge.scheduler import LadderScheduler, NewSegment
from video_service.shared.recording_index import Recorded, RecordingIndex
from workers.base.errors import TranscodeError
from workers.base.layout import (
    MEDIA_PLAYLIST,
    SOURCE,
    MediaLayout,
    playlist_key,
    segment_key,
    segment_number,
)
from workers.base.spool import Uploads
from workers.engine.playlists import SourceEntry, parse_source_window

log = logging.getLogger(__name__)

POLL_S = 0.2
MAX_UNSCHEDULED = 16  # more than a live window: older ones are past any deadline
MAX_UNINDEXED = 20_000  # a day and more of 6 s segments, while the database is away


@dataclass
class SegmentWatcher:
    camera: CameraAuth
    outdir: Path
    uploads: Uploads
    scheduler: LadderScheduler | None
    index: RecordingIndex | None = None
    seen: set[str] = field(default_factory=set)
    uploaded: set[str] = field(default_factory=set)
    # Recorded, not yet handed to the scheduler (Redis was away): handed over when it is back.
    unscheduled: list[NewSegment] = field(default_factory=list)
    # Stored, not yet in the recording index (the database was away): added when it is back.
    unindexed: list[Recorded] = field(default_factory=list)
    # Whether this publish's master is planned (`LadderScheduler.describe`): again after
    # each discontinuity (a publisher that came back may send another picture size).
    described: bool = False
    _index_streak: Streak = field(init=False)

    def __post_init__(self) -> None:
        self._index_streak = Streak(f"indexing camera {self.camera.id}'s recording")

    async def run(self) -> None:
        """Watch until cancelled; what was listed before it started is not news. A fault of
        the moment (Redis, the database, storage) is logged and outlasted: segments recorded
        while Redis was away are scheduled when it is back."""
        self.seen = await asyncio.to_thread(listed_segments, self.outdir)
        streak = Streak(f"watching camera {self.camera.id}")
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await self.announce()
            except TRANSIENT as error:
                streak.failed(error)
            else:
                streak.ok()

    async def announce(self) -> None:
        fresh = await asyncio.to_thread(new_segments, self.outdir, self.seen)
        camera, scheduler = self.camera, self.scheduler
        if fresh:
            await asyncio.to_thread(
                store_window, self.uploads, camera.id, self.outdir, self.uploaded
            )
            if self.index is not None:
                found = [segment.recorded for segment in fresh if segment.recorded]
                self.unindexed = [*self.unindexed, *found][-MAX_UNINDEXED:]
            if scheduler is not None:
                self.unscheduled = [*self.unscheduled, *fresh][-MAX_UNSCHEDULED:]
                await asyncio.to_thread(scheduler.recorded, camera.id, camera.site_id, fresh)
        if self.unindexed:
            await self._index()
        if scheduler is not None and self.unscheduled:
            pending = list(self.unscheduled)
            await asyncio.to_thread(
                scheduler.schedule, camera.id, camera.site_id, camera.tier, pending
            )
            self.unscheduled.clear()
        if any(s.recorded is not None and s.recorded.discontinuity for s in fresh):
            self.described = False
        if scheduler is not None and fresh and not self.described:
            await self._describe(scheduler, fresh[-1].uri)

    async def _describe(self, scheduler: LadderScheduler, segment: str) -> None:
        try:
            await asyncio.to_thread(scheduler.describe, self.camera.id, self.outdir / segment)
        except TranscodeError as error:  # tried again with the next segment
            log.warning("camera %s's segment %s cannot be described: %s",
                        self.camera.id, segment, error)  # fmt: skip
        else:
            self.described = True

    async def _index(self) -> None:
        """Add what is stored to the recording index; the database away is outlasted on
        its own (the ladder goes on), the entries kept until it is back."""
        assert self.index is not None
        try:
            await asyncio.to_thread(self.index.add, self.camera.id, list(self.unindexed))
        except TRANSIENT as error:
            self._index_streak.failed(error)
        else:
            self._index_streak.ok()
            self.unindexed.clear()


def store_window(uploads: Uploads, camera_id: str, outdir: Path, uploaded: set[str]) -> None:
    """Every segment the playlist names that storage lacks, then the playlist as it was read:
    in that order, so storage never lists a segment it does not hold."""
    text = (outdir / MEDIA_PLAYLIST).read_text()
    named = [entry.uri for entry in parse_source_window(text).entries]
    for uri in named:
        if uri not in uploaded:
            uploads.put(segment_key(camera_id, SOURCE, uri), outdir / uri)
            uploaded.add(uri)
    uploads.put_text(playlist_key(camera_id, SOURCE), text)
    uploaded.intersection_update(named)


def listed_segments(outdir: Path) -> set[str]:
    playlist = outdir / MEDIA_PLAYLIST
    if not playlist.exists():
        return set()
    return {entry.uri for entry in parse_source_window(playlist.read_text()).entries}


def new_segments(outdir: Path, seen: set[str]) -> list[NewSegment]:
    """Segments the source playlist lists that were not seen before: when each was closed
    (its file's last write) and when the playlist first listed it (the playlist's)."""
    playlist = outdir / MEDIA_PLAYLIST
    try:
        listed_at = playlist.stat().st_mtime
        window = parse_source_window(playlist.read_text())
    except FileNotFoundError:
        return []
    fresh = []
    for entry in window.entries:
        if entry.uri in seen:
            continue
        try:
            found = (outdir / entry.uri).stat()
        except FileNotFoundError:
            continue
        if found.st_size == 0:
            continue  # listed but empty (a full disk): not recorded, whatever FFmpeg says
        closed_at = found.st_mtime
        seen.add(entry.uri)
        recorded = recorded_of(entry, found.st_size, closed_at)
        fresh.append(NewSegment(entry.uri, closed_at, listed_at, recorded))
    current = {entry.uri for entry in window.entries}
    seen.intersection_update(current | {f.uri for f in fresh})
    return fresh


def recorded_of(entry: SourceEntry, size: int, closed_at: float) -> Recorded | None:
    """The index's entry for a segment: its start from the playlist's program date (the
    recorder writes one on every segment), else from when its file was closed."""
    number = segment_number(entry.uri)
    if number is None:
        return None
    stamped = entry.program_date_time
    start = stamped.timestamp() if stamped is not None else closed_at - entry.duration
    return Recorded(start, entry.duration, size, number, entry.discontinuity)


class Watchers:
    """One watcher per camera for the edge's life: what a camera's watcher has handed to
    storage carries over a reconnect (or a pull retried), and a camera changed meanwhile (its
    record) gets a new watcher that keeps what the old one stored."""

    def __init__(
        self,
        layout: MediaLayout,
        uploads: Uploads,
        scheduler: LadderScheduler | None,
        index: RecordingIndex | None,
    ) -> None:
        self._layout = layout
        self._uploads = uploads
        self._scheduler = scheduler
        self._index = index
        self._watchers: dict[str, SegmentWatcher] = {}

    def for_camera(self, camera: CameraAuth) -> SegmentWatcher:
        watcher = self._watchers.get(camera.id)
        if watcher is not None:  # recorded here before: a reconnect, a pull retried
            edge_metrics().recorder_restarts.inc()
        if watcher is None or watcher.camera != camera:
            source = self._layout.source_dir(camera.id)
            replacing = SegmentWatcher(camera, source, self._uploads, self._scheduler, self._index)
            if watcher is not None:  # what storage holds carries over
                replacing.uploaded = watcher.uploaded
                replacing.unindexed = watcher.unindexed
            watcher = replacing
            self._watchers[camera.id] = watcher
        return watcher
