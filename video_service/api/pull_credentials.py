"""Pull cameras' sources as the database keeps them: the URL without credentials in
`source_url`, the credentials sealed (`workers.base.secrets`) in `source_secret`; the
sub-stream's alike, in `sub_source_url` and `sub_source_secret`."""

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import session_scope
from video_service.api.models import Camera
from video_service.edge.pull_urls import PullUrl, parse_pull_url
from workers.base.secrets import SecretBox


def store_source(camera: Camera, url: PullUrl, box: SecretBox) -> None:
    camera.source_url, camera.source_secret = sealed(url, box)


def store_sub_source(camera: Camera, url: PullUrl | None, box: SecretBox) -> None:
    """The camera's sub-stream source; None: it has none (any before is forgotten)."""
    kept = (None, None) if url is None else sealed(url, box)
    camera.sub_source_url, camera.sub_source_secret = kept


def sealed(url: PullUrl, box: SecretBox) -> tuple[str, str | None]:
    """The URL as kept: without its credentials, and the credentials sealed (None: none)."""
    if url.username is None:
        return url.public(), None
    secret = {"username": url.username, "password": url.password}
    return url.public(), box.seal(json.dumps(secret))


def read_source(public: str, sealed: str | None, box: SecretBox) -> PullUrl:
    url = parse_pull_url(public)
    if sealed is None:
        return url
    secret = json.loads(box.open(sealed))
    return PullUrl(url.scheme, url.host, url.port, url.path, secret["username"],
                   secret["password"])  # fmt: skip


def seal_clear_credentials(sessions: "sessionmaker[Session]", box: SecretBox) -> int:
    """Cameras stored before credentials were sealed: move them out of the URL (once, on
    start, holding the schema lock's turn of whoever starts first)."""
    moved = 0
    with session_scope(sessions) as session:
        query = select(Camera).where(Camera.source_url.is_not(None), Camera.source_secret.is_(None))
        for camera in session.scalars(query):
            assert camera.source_url is not None
            url = parse_pull_url(camera.source_url)
            if url.username is not None:
                store_source(camera, url, box)
                moved += 1
    return moved
