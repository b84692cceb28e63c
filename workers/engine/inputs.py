"""Parse what a user names as input into something FFmpeg may open, and refuse the rest.

FFmpeg treats any `name:` prefix as a protocol, and several protocols (concat, subfile,
file outside our roots, http) would let a job read what it should not; so inputs are
parsed here, once, and the command builders receive only a `SourceRef`.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from workers.base.settings import WorkerSettings
from workers.engine.errors import InputNotAllowed, InputNotFound, UnsupportedInput

# FFmpeg reads a protocol name as these characters followed by ':' or ',' (options).
_SCHEME = re.compile(r"^([A-Za-z0-9+.\-]+)[:,]")

# Container demuxers a local file may be read with. It keeps playlist-like formats
# (hls, concat, sdp, image2 patterns) from pulling in other files or URLs.
FILE_FORMATS = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,flv,avi,asf,h264,hevc,mpeg,"
    "mpegvideo,mjpeg,nut,ogg"
)


class SourceKind(StrEnum):
    FILE = "file"
    RTSP = "rtsp"
    HTTP = "http"


@dataclass(frozen=True)
class SourceRef:
    kind: SourceKind
    url: str
    path: Path | None = None

    @property
    def protocol_whitelist(self) -> str:
        return _PROTOCOLS[self.kind]

    @property
    def is_network(self) -> bool:
        return self.kind is not SourceKind.FILE


_PROTOCOLS = {
    SourceKind.FILE: "file",
    SourceKind.RTSP: "rtsp,rtsps,rtp,srtp,tcp,udp,tls",
    SourceKind.HTTP: "http,https,tcp,tls",
}


def has_protocol(raw: str) -> bool:
    return _SCHEME.match(raw) is not None


def parse_input(raw: str, settings: WorkerSettings, *, named_here: bool = False) -> SourceRef:
    """`named_here`: a path this machine's user named on the command line is read wherever
    it is; inputs that come through the queue or the API must lie under the allowed roots."""
    if not raw.strip():
        raise InputNotFound("no input was given")
    match = _SCHEME.match(raw)
    scheme = match.group(1).lower() if match else None
    if scheme is None:
        return _parse_local(Path(raw), settings, named_here)
    if scheme == "file":
        return _parse_local(Path(raw[len("file:") :].removeprefix("//")), settings, named_here)
    if scheme in ("rtsp", "rtsps"):
        return SourceRef(SourceKind.RTSP, raw)
    if scheme in ("http", "https"):
        if not settings.allow_http:
            raise InputNotAllowed(
                f"{scheme}: inputs are disabled; set SPARC_ALLOW_HTTP=true to allow them"
            )
        return SourceRef(SourceKind.HTTP, raw)
    raise InputNotAllowed(
        f"the FFmpeg protocol '{scheme}' is not allowed as input "
        "(use a local file under the allowed roots, rtsp://, or http(s):// if enabled)"
    )


def _parse_local(path: Path, settings: WorkerSettings, named_here: bool) -> SourceRef:
    resolved = path.expanduser().resolve()
    allowed = settings.allowed_roots
    if not named_here and not any(resolved.is_relative_to(root.resolve()) for root in allowed):
        roots = ", ".join(str(root) for root in allowed)
        raise InputNotAllowed(
            f"{path} is outside the allowed input roots ({roots}); set SPARC_ALLOWED_ROOTS"
        )
    if not resolved.exists():
        raise InputNotFound(f"{path} does not exist")
    if not resolved.is_file():
        raise UnsupportedInput(f"{path} is not a regular file")
    if resolved.stat().st_size == 0:
        raise UnsupportedInput(f"{path} is empty (0 bytes)")
    return SourceRef(SourceKind.FILE, f"file:{resolved}", resolved)
