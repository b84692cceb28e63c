"""The edge's view of the database: its `CameraDirectory` and its `EventSink`, implemented
here on the control plane's records (the edge defines what it needs and never imports us)."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import session_scope
from video_service.api.events import Written, insert_events, nothing
from video_service.api.models import Camera, CameraMode
from video_service.api.pull_credentials import read_source
from video_service.edge.directory import CameraAuth, PullCamera
from video_service.edge.events import NewEvent
from video_service.edge.pull_urls import PullUrl
from workers.base.secrets import SecretBox


class DatabaseDirectory:
    def __init__(self, sessions: "sessionmaker[Session]", box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    def camera(self, camera_id: str) -> CameraAuth | None:
        with session_scope(self._sessions) as session:
            camera = session.get(Camera, camera_id)
            return None if camera is None else camera_auth(camera)

    def pull_cameras(self) -> list[PullCamera]:
        with session_scope(self._sessions) as session:
            query = select(Camera).where(Camera.mode == CameraMode.PULL, Camera.enabled.is_(True))
            return [
                PullCamera(camera_auth(camera), self._source(camera), self._sub_source(camera))
                for camera in session.scalars(query)
                if camera.source_url
            ]

    def _source(self, camera: Camera) -> PullUrl:
        assert camera.source_url is not None
        return read_source(camera.source_url, camera.source_secret, self._box)

    def _sub_source(self, camera: Camera) -> PullUrl | None:
        if camera.sub_source_url is None:
            return None
        return read_source(camera.sub_source_url, camera.sub_source_secret, self._box)


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
