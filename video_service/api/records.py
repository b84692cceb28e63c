"""Load a record by id, or say it is not there (404)."""

from sqlalchemy.orm import Session

from video_service.api.errors import NotFound
from video_service.api.models import Camera, Site


def find_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def find_camera(session: Session, camera_id: str) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise NotFound(f"no camera {camera_id}")
    return camera
