"""What the API reads and returns: a model family per resource (Create, Update, Public)."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from video_service.api.models import CameraMode, Scope

# The pipeline's own event types (camera_online, ...) and namespaced ones from outside
# (motion.start, access.door_forced): lowercase words joined by dots.
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
EventTypeName = Annotated[str, Field(min_length=1, max_length=64, pattern=EVENT_TYPE_PATTERN)]
CameraId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
MAX_DETAIL_BYTES = 4096
MAX_BATCH = 1000


class SiteCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    tier: int = Field(default=1, ge=1, le=100)


class SiteUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tier: int | None = Field(default=None, ge=1, le=100)


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    tier: int
    created_at: datetime


class SitesPublic(BaseModel):
    data: list[SitePublic]
    count: int
    next: str | None = Field(description="the cursor of the next page (`?after=`), if any")


class CameraCreate(BaseModel):
    site_id: str
    name: str = Field(min_length=1, max_length=200)
    mode: CameraMode = CameraMode.PUSH
    source_url: str | None = Field(default=None, description="pull mode: the camera's RTSP URL")

    @field_validator("source_url")
    @classmethod
    def _rtsp_only(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("rtsp", "rtsps"):
            raise ValueError("source_url must be an rtsp:// or rtsps:// URL")
        return url


class CameraUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    source_url: str | None = None

    @field_validator("source_url")
    @classmethod
    def _rtsp_only(cls, url: str | None) -> str | None:
        return CameraCreate._rtsp_only(url)


class CameraPublic(BaseModel):
    id: str
    site_id: str
    name: str
    mode: CameraMode
    enabled: bool
    publish_url: str | None
    rtsp_username: str | None
    source_url: str | None = Field(description="pull mode, without its credentials")
    created_at: datetime


class CameraCreated(CameraPublic):
    """Returned once, at creation: the only time the publish password is shown."""

    rtsp_password: str | None


class CamerasPublic(BaseModel):
    data: list[CameraPublic]
    count: int
    next: str | None = Field(description="the cursor of the next page (`?after=`), if any")


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    type: str
    camera_id: str | None
    site_id: str | None
    detail: dict[str, object]


class EventsPublic(BaseModel):
    data: list[EventPublic]
    next: str | None = Field(description="the cursor of the next (older) page, if any")


class EventCreate(BaseModel):
    """An event from outside the pipeline: a camera's, an analytics engine's, an alarm's,
    an access control system's."""

    model_config = ConfigDict(extra="forbid")
    camera_id: CameraId
    type: EventTypeName
    at: AwareDatetime = Field(description="when it happened, with its time zone")
    # Any: it is JSON already (parsed from the body); its size is checked, once serialised
    # for storage, by the route (a validator here cost more than the rest of the batch).
    detail: dict[str, Any] = Field(
        default_factory=dict, description=f"a small JSON object (at most {MAX_DETAIL_BYTES} B)"
    )


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventCreate] = Field(min_length=1, max_length=MAX_BATCH)


class EventsStored(BaseModel):
    stored: int


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scope: Scope
    site_ids: list[str] = []


class KeyCreated(BaseModel):
    id: str
    name: str
    scope: Scope
    site_ids: list[str]
    key: str = Field(description="shown once; only its hash is stored")


def strip_credentials(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
