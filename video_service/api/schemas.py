"""What the API reads and returns: a model family per resource (Create, Update, Public)."""

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from video_service.api.models import CameraMode, Role, Scope
from video_service.edge.pull_urls import MAX_URL, parse_pull_url

# The pipeline's own event types (camera_online, ...) and namespaced ones from outside
# (motion.start, access.door_forced): lowercase words joined by dots.
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
EventTypeName = Annotated[str, Field(min_length=1, max_length=64, pattern=EVENT_TYPE_PATTERN)]
CameraId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
MAX_DETAIL_BYTES = 4096
MAX_BATCH = 1000
# Characters no name needs and some abuse: control characters (NUL above all: PostgreSQL
# refuses it) and the bidirectional overrides that make a name read other than it is.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _plain(text: str) -> str:
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in _BIDI for c in text):
        raise ValueError(
            "control characters, lone surrogates and bidirectional overrides are not allowed"
        )
    return text


def in_utc(moment: datetime) -> datetime:
    """A time in UTC (one without a zone taken to be UTC); a zone's offset that takes it
    past year 1 or 9999 is refused (a 422, not an overflow)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of the range of dates (years 1-9999 in UTC)") from None


def _utc(value: object) -> object:
    """SQLite gives back times without their zone (they are stored in UTC)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain)]
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_utc)]
# A time a client sends: with its zone, in UTC once read.
AskedTime = Annotated[AwareDatetime, AfterValidator(in_utc)]


class SiteCreate(BaseModel):
    name: Name
    tier: int = Field(default=1, ge=1, le=100)


class SiteUpdate(BaseModel):
    name: Name | None = None
    tier: int | None = Field(default=None, ge=1, le=100)


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    tier: int
    created_at: UtcDatetime


class SitesPublic(BaseModel):
    data: list[SitePublic]
    count: int
    next: str | None = Field(description="the cursor of the next page (`?after=`), if any")


class CameraCreate(BaseModel):
    site_id: str = Field(max_length=64)
    name: Name
    mode: CameraMode = CameraMode.PUSH
    source_url: str | None = Field(
        default=None,
        max_length=MAX_URL,
        description="pull mode: the camera's rtsp:// or rtsps:// URL, credentials included",
    )
    sub_source_url: str | None = Field(
        default=None,
        max_length=MAX_URL,
        description="pull mode, optional: the camera's sub-stream (its small second stream, "
        "relayed for walls and still pictures, not recorded), checked as source_url is",
    )

    @field_validator("source_url", "sub_source_url")
    @classmethod
    def _pull_url(cls, url: str | None) -> str | None:
        if url is not None:
            parse_pull_url(url)  # BadPullUrl (a ValueError) says why not
        return url


class CameraUpdate(BaseModel):
    name: Name | None = None
    enabled: bool | None = None
    source_url: str | None = Field(default=None, max_length=MAX_URL)
    sub_source_url: str | None = Field(
        default=None, max_length=MAX_URL, description="null: the camera has no sub-stream"
    )

    @field_validator("source_url", "sub_source_url")
    @classmethod
    def _pull_url(cls, url: str | None) -> str | None:
        return CameraCreate._pull_url(url)


class StreamPublic(BaseModel):
    """A stream while it is live: its codec as the camera's SDP names it, and its size as
    its H.264 SPS says (None for other codecs)."""

    codec: str
    width: int | None
    height: int | None
    edge: str = Field(description="the edge that relays it")


class CameraPublic(BaseModel):
    id: str
    site_id: str
    name: str
    mode: CameraMode
    enabled: bool
    publish_url: str | None
    sub_publish_url: str | None = Field(
        default=None,
        description="push mode: where the camera publishes its sub-stream (the small second "
        "stream walls show; relayed for live view, not recorded), with the same credentials",
    )
    rtsp_username: str | None
    source_url: str | None = Field(description="pull mode, without its credentials; admins only")
    sub_source_url: str | None = Field(
        default=None, description="pull mode: the sub-stream's source, without its credentials"
    )
    created_at: UtcDatetime
    sub_stream: StreamPublic | None = Field(
        default=None,
        description="the sub-stream while it is live; looked up for one camera "
        "(GET /api/cameras/{id}), never in lists",
    )


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
    at: UtcDatetime
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
    at: AskedTime = Field(description="when it happened, with its time zone")
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
    name: Name
    scope: Scope
    site_ids: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=1000)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="none: the key does not expire"
    )


class KeyPublic(BaseModel):
    id: str
    name: str
    scope: Scope
    site_ids: list[str]
    created_at: UtcDatetime
    expires_at: UtcDatetime | None


class KeysPublic(BaseModel):
    data: list[KeyPublic]


class KeyCreated(KeyPublic):
    key: str = Field(description="shown once; only its hash is stored")


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionPublic(BaseModel):
    """Who is signed in."""

    username: str
    role: Role
    site_ids: list[str]


class WallLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(max_length=60)
    site_id: str = Field(min_length=1, max_length=64)
    layout: Literal[1, 4, 9, 16, 25, 36]


class WallLayouts(BaseModel):
    """The wall layouts a user saved (kept with the user, on the server)."""

    model_config = ConfigDict(extra="forbid")
    layouts: list[WallLayout] = Field(max_length=50)


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    site_ids: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=1000)


class UserUpdate(BaseModel):
    """Disabling a user, changing their role, sites or password ends their sessions."""

    enabled: bool | None = None
    role: Role | None = None
    site_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=1000
    )
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    username: str
    role: Role
    site_ids: list[str]
    enabled: bool
    created_at: UtcDatetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
