"""The control plane's records: sites, cameras, API keys, events, the recording index. The
schema itself is made by the migrations (`migrations/`); these mappings follow it."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Scope(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class Role(StrEnum):
    ADMIN = "admin"  # everything
    OPERATOR = "operator"  # watch, events, recordings and exports on their sites


class CameraMode(StrEnum):
    PUSH = "push"  # the camera publishes to our edge
    PULL = "pull"  # the camera is an RTSP server we read from


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    cameras: Mapped[list["Camera"]] = relationship(back_populates="site")


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[CameraMode] = mapped_column(String(8), default=CameraMode.PUSH)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Push: the publisher's user name and the Digest HA1; the password is never stored.
    rtsp_username: Mapped[str] = mapped_column(String(64))
    digest_ha1: Mapped[str] = mapped_column(String(32))
    # Pull: where to read from, without credentials; and the credentials, sealed
    # (`workers.base.secrets`): never returned by the API, never in clear at rest.
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Pull: the camera's sub-stream (optional), kept as the main source is.
    sub_source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    sub_source_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    site: Mapped[Site] = relationship(back_populates="cameras")


class User(Base):
    """A person who signs in to the console (machines use API keys)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    role: Mapped[Role] = mapped_column(String(8))
    site_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # an operator's sites
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sessions signed in before the last change of password, role, sites or enabled are
    # nobody (`auth`): each such change adds one.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # The wall layouts they saved: [{"name", "site_id", "layout"}] (`schemas.WallLayouts`).
    layouts: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[Scope] = mapped_column(String(8))
    site_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RevokedKey(Base):
    """A key revoked: only its hash, so that the same key is never installed again (a
    revoked SPARC_ADMIN_KEY stays revoked across restarts)."""

    __tablename__ = "revoked_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Event(Base):
    """On PostgreSQL partitioned by month on `at` (its primary key is (id, at)); `id` is
    unique and increasing either way, and orders the list."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # The pipeline's own (EventType) or a namespaced type from outside: `motion.start`.
    type: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class RecordingHour(Base):
    """One camera's recorded segments of one hour, packed
    (`video_service.shared.recording_index`): no foreign key to the camera, so that a deleted
    camera's recording stays findable until retention removes it."""

    __tablename__ = "recording_hours"

    camera_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # Unix time // 3600
    entries: Mapped[bytes] = mapped_column(LargeBinary)
