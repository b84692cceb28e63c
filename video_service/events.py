"""Record and read events: camera online and offline, refused publishes, segments, ladder
jobs, viewers. Written by the edge, the scheduler and the playback API alike."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_service.models import Event, EventType


def record_event(
    session: Session,
    type_: EventType,
    *,
    camera_id: str | None = None,
    site_id: str | None = None,
    **detail: object,
) -> Event:
    event = Event(type=type_, camera_id=camera_id, site_id=site_id, detail=detail)
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    limit: int,
    camera_id: str | None = None,
    type_: EventType | None = None,
    site_ids: frozenset[str] | None = None,
) -> Sequence[Event]:
    """Newest first; `site_ids` limits a viewer to its sites."""
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if camera_id is not None:
        query = query.where(Event.camera_id == camera_id)
    if type_ is not None:
        query = query.where(Event.type == type_)
    if site_ids is not None:
        query = query.where(Event.site_id.in_(site_ids))
    return session.scalars(query).all()
