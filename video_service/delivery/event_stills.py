"""The picture at an event's time: cut once from the camera's recording (the source segment
that holds the moment, decoded from its first keyframe up to the moment, scaled to at most
640 wide, one JPEG) and kept in the store (`event_still_key`): asked again, it is read, not
cut again. The picture of a moment never changes, so it may be cached for good."""

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from video_service.delivery.errors import ExportFailed, NothingRecorded
from video_service.delivery.export import local_segment
from video_service.shared.recording_index import Recorded
from workers.base.process import run_capture
from workers.base.storage import Storage

log = logging.getLogger(__name__)
CUT_TIMEOUT_S = 30.0
MAX_WIDTH = 640


def event_still_key(event_id: int) -> str:
    return f"events/{event_id}/still.jpg"


def kept_event_still(storage: Storage, event_id: int) -> bytes | None:
    """The event's picture if it was cut before. Blocks (the store)."""
    try:
        return storage.get_bytes(event_still_key(event_id))
    except KeyError:
        return None


def build_still_command(ffmpeg: str, segment: Path, offset_s: float, output: Path) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        # After the input: decoded up to the moment (a segment's timestamps go on from the
        # one before, so a seek on the input finds nothing).
        "-i", str(segment), "-ss", f"{offset_s:.3f}", "-frames:v", "1",
        "-vf", f"scale='min({MAX_WIDTH},iw)':-2", "-c:v", "mjpeg", "-q:v", "5",
        "-f", "image2", str(output),
    ]  # fmt: skip


def event_still(
    storage: Storage,
    camera_id: str,
    event_id: int,
    at: float,
    recorded: Sequence[Recorded],
    *,
    ffmpeg: str,
    workdir: Path,
) -> bytes:
    """The event's picture (a JPEG), from the store or cut now from `recorded` (the
    segments around `at`). NothingRecorded when none holds the moment; ExportFailed when
    FFmpeg cannot cut it. Blocks (the store, FFmpeg)."""
    kept = kept_event_still(storage, event_id)
    if kept is not None:
        return kept
    holding = [r for r in recorded if r.start <= at < r.start + max(r.duration, 0.001)]
    if not holding:
        raise NothingRecorded("nothing was recorded at the event's time")
    entry = holding[0]
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        segment = local_segment(storage, camera_id, entry, Path(folder))
        if segment is None:
            raise NothingRecorded("the recording at the event's time is gone")
        output = Path(folder) / "still.jpg"
        command = build_still_command(ffmpeg, segment, at - entry.start, output)
        done = run_capture(command, CUT_TIMEOUT_S)
        if done.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
            # (FFmpeg's own words name the store's paths: they stay in the log.)
            log.warning("event %s: no picture cut from %s: %s", event_id, segment,
                        done.stderr_tail.strip()[-300:])  # fmt: skip
            raise ExportFailed("the event's picture could not be cut from the recording")
        jpeg = output.read_bytes()
    storage.put_bytes(event_still_key(event_id), jpeg, live=False)
    return jpeg
