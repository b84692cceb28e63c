"""Events, newest first, filterable by camera and type; a viewer sees its sites' only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from video_service.api.deps import PrincipalDep, SessionDep
from video_service.api.events import list_events
from video_service.api.schemas import EventPublic, EventsPublic
from video_service.edge.events import EventType

router = APIRouter(prefix="/api/events", tags=["events"])


def flush_pending(request: Request) -> None:
    """This process's batched events (viewer_joined) are written before the list is read."""
    request.app.state.events.flush()


@router.get("", dependencies=[Depends(flush_pending)])
def get_events(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    camera_id: str | None = None,
    type: EventType | None = None,
) -> EventsPublic:
    events = list_events(
        session,
        limit=limit,
        camera_id=camera_id,
        type_=type,
        site_ids=None if principal.is_admin else principal.site_ids,
    )
    return EventsPublic(data=[EventPublic.model_validate(e) for e in events])
