"""The edge's view of the database: its `CameraDirectory` and its `EventSink`, implemented
here on the control plane's records (the edge defines what it needs and never imports us)."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import session_scope
from video_service.api.events import Written, insert_events, nothing
from video_service.api.models import Camera, CameraMode
from video_service.edge.directory import CameraAuth, PullCamera
from video_service.edge.events import NewEvent


class DatabaseDirectory:
    def __init__(self, sessions: "sessionmaker[Session]") -> None:
        self._sessions = sessions

    def camera(self, camera_id: str) -> CameraAuth | None:
        with session_scope(self._sessions) as session:
            camera = session.get(Camera, camera_id)
            return None if camera is None else camera_auth(camera)

    def pull_cameras(self) -> list[PullCamera]:
        with session_scope(self._sessions) as session:
            query = select(Camera).where(Camera.mode == CameraMode.PULL, Camera.enabled.is_(True))
            return [
                PullCamera(camera_auth(camera), camera.source_url)
                for camera in session.scalars(query)
                if camera.source_url
            ]


class DatabaseEvents:
    def __init__(self, sessions: "sessionmaker[Session]", on_written: Written = nothing) -> None:
        self._sessions = sessions
        self._on_written = on_written

    def record(self, events: Sequence[NewEvent]) -> None:
        if events:
            with session_scope(self._sessions) as session:
                insert_events(session, events)
            self._on_written()


def camera_auth(camera: Camera) -> CameraAuth:
    return CameraAuth(
        camera.id,
        camera.site_id,
        camera.rtsp_username,
        camera.digest_ha1,
        camera.enabled,
        CameraMode(camera.mode) is CameraMode.PUSH,
        camera.site.tier,
    )
