"""A range of a camera's recording as one MP4: the source segments that cover it, remuxed
(not re-encoded) by FFmpeg's concat demuxer, `+faststart` so that a player starts before it
has the whole file. Gaps are left out: the MP4 plays the recorded parts one after another.

The MP4 is written to a private folder under the state directory (faststart rewrites the
file, so it cannot be sent as it is made) and removed once sent. Before it starts, the folder's
disk must have room for twice the segments' bytes (fetched copies, then the MP4) and a margin;
an export that cannot be made (no room, FFmpeg refuses a segment) is `ExportFailed`, saying why.
"""

import errno
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from video_service.delivery.errors import ExportFailed, NothingRecorded
from video_service.delivery.recorded_ranges import TimeRange
from video_service.shared.recording_index import Recorded
from workers.base.errors import FFmpegFailed
from workers.base.layout import SOURCE, segment_key, source_segment_name
from workers.base.process import run_capture
from workers.base.storage import Storage

EXPORT_TIMEOUT_S = 600.0
FREE_MARGIN_BYTES = 256 * 1024 * 1024  # left for everything else on the disk


@dataclass(frozen=True)
class Exported:
    path: Path
    folder: Path  # remove when sent

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def build_export_command(ffmpeg: str, listing: Path, output: Path, seconds: float) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "concat", "-safe", "0", "-i", str(listing),
        "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
        "-t", f"{seconds:.3f}", "-movflags", "+faststart", "-f", "mp4", str(output),
    ]  # fmt: skip


def export_mp4(
    storage: Storage,
    camera_id: str,
    entries: Sequence[Recorded],
    wanted: TimeRange,
    *,
    ffmpeg: str,
    workdir: Path,
) -> Exported:
    """Blocks (FFmpeg, and the bucket when the segments are there). The MP4 starts at the
    first segment's first frame (a keyframe: the one at or before `wanted.start`) and ends
    at `wanted.end`."""
    workdir.mkdir(parents=True, exist_ok=True)
    needed = 2 * sum(e.size for e in entries) + FREE_MARGIN_BYTES
    free = shutil.disk_usage(workdir).free
    if free < needed:
        raise ExportFailed(
            f"no room for the export on this node: it needs about {needed >> 20} MiB "
            f"free, {free >> 20} MiB are"
        )
    folder = workdir / uuid.uuid4().hex
    folder.mkdir()
    try:
        found = [(e, local_segment(storage, camera_id, e, folder)) for e in entries]
        kept = [(entry, file) for entry, file in found if file is not None]
        if not kept:  # retention took them between the look-up and now
            raise NothingRecorded("the range's segments are no longer kept")
        listing = folder / "segments.ffconcat"
        lines = "".join(f"file {_quoted(file)}\n" for _, file in kept)
        listing.write_text("ffconcat version 1.0\n" + lines)
        last = kept[-1][0]
        seconds = sum(e.duration for e, _ in kept) - max(0.0, last.end - wanted.end)
        output = folder / "export.mp4"
        done = run_capture(build_export_command(ffmpeg, listing, output, seconds), EXPORT_TIMEOUT_S)
        if done.returncode != 0:
            failed = FFmpegFailed("the export's remux failed", done.returncode, done.stderr_tail)
            raise ExportFailed(_said(failed)) from failed
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        if error.errno == errno.ENOSPC:
            raise ExportFailed("the disk filled while the export was made") from error
        raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Exported(output, folder)


def _said(failed: FFmpegFailed) -> str:
    """FFmpeg's last line, short and without control characters."""
    lines = [line for line in failed.stderr_tail.splitlines() if line.strip()]
    last = "".join(c if c.isprintable() else "?" for c in (lines[-1] if lines else ""))[:200]
    return f"{failed.message} (FFmpeg exit {failed.returncode}): {last or 'no message'}"


def local_segment(storage: Storage, camera_id: str, entry: Recorded, folder: Path) -> Path | None:
    """The segment as a local file: the store's own, or fetched from the bucket; None if it
    is gone."""
    name = source_segment_name(entry.number)
    key = segment_key(camera_id, SOURCE, name)
    try:
        local = storage.local_file(key)
        if local is not None:
            return local.resolve()
        fetched = folder / name
        fetched.write_bytes(storage.get_bytes(key))
    except KeyError:
        return None
    return fetched


def _quoted(path: Path) -> str:
    """A path as the concat demuxer reads it: in single quotes, a quote as '\\''; the media
    root is the operator's and may hold anything a path may."""
    text = str(path)
    if any(ord(c) < 32 for c in text):
        raise ValueError("a control character in the media root's path")
    return "'" + text.replace("'", "'\\''") + "'"
