"""A camera that another edge recorded before: with a bucket, each edge has its own disk, so
the source playlist the recorder appends to (and numbers its segments after) may be missing
here, or older than what another edge stored since. The bucket's playlist is put in its place
first: FFmpeg's `append_list` then numbers the new segments after the last one stored (so
nothing stored is overwritten, and the recording index keeps one entry per number) and marks
the join with a discontinuity. What that playlist names is in the bucket already: the
watcher is told so and uploads none of it again.
"""

import asyncio
import logging
from pathlib import Path

from video_service.edge.camera_leases import CameraLeases
from video_service.edge.directory import CameraAuth
from video_service.edge.faults import TRANSIENT
from video_service.edge.watcher import Watchers
from workers.base.errors import StorageRefused
from workers.base.layout import MEDIA_PLAYLIST, SOURCE, MediaLayout, playlist_key, segment_number
from workers.base.storage import Storage
from workers.engine.outputs import replace_text
from workers.engine.playlists import parse_source_window

log = logging.getLogger(__name__)
BUCKET_FAULTS: tuple[type[Exception], ...] = (*TRANSIENT, StorageRefused)


class BucketHistory:
    """What the bucket holds of the cameras that come to this edge (none without one)."""

    def __init__(self, bucket: Storage | None, layout: MediaLayout) -> None:
        self._bucket = bucket
        self._layout = layout

    async def continue_from(self, camera_id: str) -> list[str]:
        """Put the bucket's playlist in place where another edge recorded the camera last;
        the segments it names (stored already). The bucket away: none, and said so."""
        if self._bucket is None:
            return []
        outdir = self._layout.source_dir(camera_id)
        try:
            return await asyncio.to_thread(continue_from_bucket, self._bucket, camera_id, outdir)
        except BUCKET_FAULTS as error:
            log.warning("camera %s: the bucket's playlist could not be read (%s); its segment "
                        "numbers may start again", camera_id, error)  # fmt: skip
            return []


def continue_from_bucket(storage: Storage, camera_id: str, outdir: Path) -> list[str]:
    """The segments the stored playlist names, when it was put in place of this edge's
    own (missing, or behind it); else none. Blocks (the bucket)."""
    try:
        text = storage.get_bytes(playlist_key(camera_id, SOURCE)).decode()
    except KeyError:
        return []  # never recorded anywhere: the recorder starts at 0
    stored = [entry.uri for entry in parse_source_window(text).entries]
    local = outdir / MEDIA_PLAYLIST
    if local.exists() and _last_number(local.read_text()) >= _last_number(text):
        return []  # this edge recorded the camera last: its own playlist goes on
    outdir.mkdir(parents=True, exist_ok=True)
    replace_text(local, text)
    return stored


def _last_number(text: str) -> int:
    numbers = [segment_number(e.uri) for e in parse_source_window(text).entries]
    return max((n for n in numbers if n is not None), default=-1)


async def take_pulled(
    leases: CameraLeases, history: BucketHistory, watchers: Watchers, camera: CameraAuth
) -> None:
    """Before pulling a camera: take it (an edge still pulling it, its share not yet moved,
    hears the take and stops), and go on numbering from the bucket."""
    await leases.take(camera.id)
    stored = await history.continue_from(camera.id)
    watchers.for_camera(camera).uploaded.update(stored)
