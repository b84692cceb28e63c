"""What the edge knows of a camera, and where it asks: a `CameraDirectory` the control plane
implements (its database), so that the edge never imports the API."""

from dataclasses import dataclass
from typing import Protocol

from video_service.edge.pull_urls import PullUrl


@dataclass(frozen=True)
class CameraAuth:
    id: str
    site_id: str
    username: str
    ha1: str  # the RTSP Digest HA1 of the camera's password; the password is never kept
    enabled: bool
    push: bool
    tier: int = 1


@dataclass(frozen=True)
class PullCamera:
    camera: CameraAuth
    source: PullUrl  # with its credentials: never shown, logged or handed to a process
    sub_source: PullUrl | None = None  # its sub-stream, relayed for live view, not recorded


class CameraDirectory(Protocol):
    def camera(self, camera_id: str) -> CameraAuth | None:
        """The camera, or None when there is none; may block (call it from a thread)."""
        ...

    def pull_cameras(self) -> list[PullCamera]:
        """The enabled pull cameras with their sources; may block."""
        ...
