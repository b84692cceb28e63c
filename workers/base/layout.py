"""Where the media lives: every object key and local path of a camera's recording and ladder,
named here and nowhere else.

Keys are relative, `/`-separated, and the same in object storage and under the local media
root:

    live/{camera}/master.m3u8                the ladder's master playlist
    live/{camera}/source/index.m3u8          the recording's live playlist (the edge's)
    live/{camera}/source/seg_000042.ts       a recorded source segment
    live/{camera}/source/vod_A_B.m3u8        the recording from A to B (Unix ms), as VOD
                                             (made on request from the recording index)
    live/{camera}/{rung}/index.m3u8          a rung's live playlist
    live/{camera}/{rung}/seg_000042.ts       the rung's copy of source segment 42
    live/{camera}/{rung}/.seg_000042.ts.skipped   a job gave that segment up (past its deadline)

A VOD ladder written by `transcode` is `OUTDIR/master.m3u8` and `OUTDIR/{rung}/...`.

`parse_media_path` is the one way a path that came from outside (a player's request) becomes
a key: it is parsed and rebuilt, never passed through, so `..`, empty parts, control
characters or a camera id that is not one are refused before anything else looks at it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from workers.base.errors import BadMediaPath

LIVE = "live"
SOURCE = "source"
MEDIA_PLAYLIST = "index.m3u8"
MASTER_PLAYLIST = "master.m3u8"
SOURCE_SEGMENT_PATTERN = "seg_%06d.ts"  # the recorder's (FFmpeg's pattern syntax)
VOD_SEGMENT_PATTERN = "seg_%05d.ts"  # a file transcode's rungs
SKIPPED_SUFFIX = ".skipped"
RECORDER_LOG = "recorder.log"

CAMERA_ID = re.compile(r"^[0-9a-f]{32}$")
_RENDITION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SEGMENT = re.compile(r"^seg_([0-9]{1,12})\.ts$")
_VOD = re.compile(r"^vod_([0-9]{1,15})_([0-9]{1,15})\.m3u8$")


def camera_key(camera_id: str) -> str:
    return f"{LIVE}/{camera_id}"


def rendition_key(camera_id: str, rendition: str) -> str:
    return f"{LIVE}/{camera_id}/{rendition}"


def playlist_key(camera_id: str, rendition: str) -> str:
    return f"{rendition_key(camera_id, rendition)}/{MEDIA_PLAYLIST}"


def segment_key(camera_id: str, rendition: str, segment: str) -> str:
    return f"{rendition_key(camera_id, rendition)}/{segment}"


def source_segment_name(number: int) -> str:
    return SOURCE_SEGMENT_PATTERN % number


def segment_number(name: str) -> int | None:
    """The number in a segment's name (`seg_000042.ts`: 42); None for any other name."""
    match = _SEGMENT.match(name)
    return int(match.group(1)) if match else None


def vod_playlist_key(camera_id: str, start_ms: int, end_ms: int) -> str:
    return segment_key(camera_id, SOURCE, f"vod_{start_ms}_{end_ms}.m3u8")


def master_key(camera_id: str) -> str:
    return f"{camera_key(camera_id)}/{MASTER_PLAYLIST}"


def whep_path(camera_id: str, sub: bool = False) -> str:
    """A camera's live view (WHEP) on its edge, the path its token grants: of its main
    stream, or of its sub-stream (`sub`)."""
    return f"/whep/{camera_id}/sub" if sub else f"/whep/{camera_id}"


def whep_session_path(session_id: str) -> str:
    return f"/whep/sessions/{session_id}"


def stream_prefix(camera_id: str) -> str:
    """The path a viewer's token grants: everything of one camera, as URLs name it."""
    return f"/{camera_key(camera_id)}/"


def skipped_mark(segment: str) -> str:
    return f".{segment}{SKIPPED_SUFFIX}"


def skipped_segment(mark: str) -> str | None:
    """The segment a skipped mark stands for; None for any other name."""
    if mark.startswith(".") and mark.endswith(SKIPPED_SUFFIX):
        return mark[1 : -len(SKIPPED_SUFFIX)]
    return None


def is_segment_name(name: str) -> bool:
    return _SEGMENT.match(name) is not None


def is_rendition_name(name: str) -> bool:
    return _RENDITION.match(name) is not None


@dataclass(frozen=True)
class MediaLayout:
    """The keys above as paths under one local root (the media root)."""

    root: Path

    def path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def camera_dir(self, camera_id: str) -> Path:
        return self.path(camera_key(camera_id))

    def rendition_dir(self, camera_id: str, rendition: str) -> Path:
        return self.path(rendition_key(camera_id, rendition))

    def source_dir(self, camera_id: str) -> Path:
        return self.rendition_dir(camera_id, SOURCE)

    def live_dir(self) -> Path:
        return self.root / LIVE


@dataclass(frozen=True)
class MediaPath:
    """A parsed request path: a camera's master, a rendition's playlist, or a segment."""

    camera_id: str
    rendition: str | None  # None: the master
    name: str

    @property
    def key(self) -> str:
        if self.rendition is None:
            return master_key(self.camera_id)
        return segment_key(self.camera_id, self.rendition, self.name)

    @property
    def url_path(self) -> str:
        return "/" + self.key

    @property
    def is_segment(self) -> bool:
        return is_segment_name(self.name) and self.rendition is not None

    @property
    def vod_range(self) -> tuple[int, int] | None:
        """(start, end) in Unix ms for a recording's VOD playlist; None for anything else."""
        match = _VOD.match(self.name)
        if match is None or self.rendition != SOURCE:
            return None
        return int(match.group(1)), int(match.group(2))

    @property
    def is_master(self) -> bool:
        return self.rendition is None


def parse_media_path(path: str) -> MediaPath:
    """`/live/{camera}/master.m3u8`, `/live/{camera}/{rendition}/index.m3u8`,
    `/live/{camera}/{rendition}/seg_N.ts` or `/live/{camera}/source/vod_A_B.m3u8`; anything
    else is BadMediaPath."""
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "" or parts[1] != LIVE or not CAMERA_ID.match(parts[2]):
        raise BadMediaPath("no such media")
    camera_id = parts[2]
    if len(parts) == 4 and parts[3] == MASTER_PLAYLIST:
        return MediaPath(camera_id, None, MASTER_PLAYLIST)
    if len(parts) != 5 or not is_rendition_name(parts[3]):
        raise BadMediaPath("no such media")
    name = parts[4]
    vod = parts[3] == SOURCE and _VOD.match(name) is not None
    if name != MEDIA_PLAYLIST and not is_segment_name(name) and not vod:
        raise BadMediaPath("no such media")
    return MediaPath(camera_id, parts[3], name)
