"""The one settings model: `Settings`, the base every process reads (the API, the edge and
the workers alike), and one subclass per process kind, each read once from the environment
and passed in.

Naming rule: a field is read from `SPARC_<FIELD NAME>` (the one exception: `REDIS_URL`, the
name the whole ecosystem uses). A setting whose default derives from another (the media root
and the database from the state directory) is filled in by its default factory, so the field
read is the field used: there is no second "resolved" name.
"""

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workers.base.layout import is_rendition_name

DEFAULT_STATE_DIR = Path.home() / ".local" / "state" / "sparc-video"


class Rung(BaseModel, frozen=True):
    name: str
    height: int = Field(gt=0, le=4320)
    video_kbps: int = Field(gt=0, le=200_000)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        # It names a folder and a URL path segment.
        if not is_rendition_name(name):
            raise ValueError(f"a rung name is 1-32 of a-z, 0-9, _ and -, not {name!r}")
        return name


DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung(name="240p", height=240, video_kbps=400),
    Rung(name="360p", height=360, video_kbps=800),
    Rung(name="480p", height=480, video_kbps=1200),
    Rung(name="720p", height=720, video_kbps=2500),
    Rung(name="1080p", height=1080, video_kbps=5000),
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: object) -> object:
    """`10.0.0.0/8, 192.168.1.0/24` (commas or spaces) as networks."""
    if isinstance(value, str):
        parts = [part for part in re.split(r"[,\s]+", value.strip()) if part]
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts)
    return value


Networks = Annotated[tuple[Network, ...], NoDecode, BeforeValidator(parse_networks)]


def _media_root(data: dict[str, Any]) -> Path:
    return Path(data["state_dir"]) / "media"


def _database_url(data: dict[str, Any]) -> str:
    return f"sqlite:///{Path(data['state_dir']) / 'sparc-video.db'}"


class Settings(BaseSettings):
    """What every process of one deployment must agree on."""

    # Unknown SPARC_* variables (another process kind's) are not read; an unknown field
    # passed by name is refused.
    model_config = SettingsConfigDict(env_prefix="SPARC_", extra="forbid")

    state_dir: Path = DEFAULT_STATE_DIR
    # Where recordings and the live ladder are written and served from (the local store).
    media_root: Path = Field(default_factory=_media_root)
    # SQLite in the state directory by default; PostgreSQL in production.
    database_url: str = Field(default_factory=_database_url)
    # Redis: REDIS_URL when set, else the embedded server (workers.base.redis_server).
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "SPARC_REDIS_URL")
    )
    # The Celery broker; the Redis above when unset (RabbitMQ works too: amqp://...).
    broker_url: str | None = None
    # Object storage: unset, the local media root is the store; set, the edge and the
    # workers upload there through a spool and the origin serves from it (MinIO, AWS S3;
    # credentials the usual AWS ways: AWS_ACCESS_KEY_ID ..., or an instance role).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    segment_seconds: float = Field(default=6.0, gt=0, le=60)
    live_window: int = Field(default=10, gt=0, le=1000)
    # How long recordings are kept (the edge's retention deletes them; the API says a range
    # before it is past retention).
    recording_retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    # The realm of camera passwords: the API stores the Digest HA1 under it, the edge checks it.
    rtsp_realm: str = "sparc-video"
    # Broker redelivery of a job whose worker vanished (jobs hold a lease, so a redelivery
    # while the first worker still runs is deferred, not duplicated).
    visibility_timeout_s: int = Field(default=3600, gt=0)
    restore_interval_s: int = Field(default=10, gt=0)
    # ffprobe on a segment or a source (the workers, and the origin's source-only master).
    probe_timeout_s: float = Field(default=30.0, gt=0)
    # The key that encrypts secrets at rest (pull cameras' credentials): a Fernet key
    # (`sparc-video secret-key` prints a new one); every node of a deployment needs the same.
    # Unset: one is made in the state directory (mode 0600) on first use.
    secret_key: SecretStr | None = None
    # The secret of the origin's and the edge's viewer tokens; every API node and edge needs
    # the same. Unset: one is made in the state directory (mode 0600) on first use.
    origin_secret: SecretStr | None = None
    # Where pull cameras may not point (beside loopback, link-local and multicast, always
    # refused): the cluster's service range by default; and ranges opened anyway.
    pull_refused_networks: Networks = (ipaddress.ip_network("10.96.0.0/12"),)
    pull_allowed_networks: Networks = ()


class WorkerSettings(Settings):
    """A transcoding worker's, and the local `transcode` command's."""

    # Local inputs that reach a worker (the queue, the API) must lie under one of these.
    allowed_roots: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path.cwd()])
    allow_http: bool = False
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    # The top rung is the source itself when its bitrate is at most this times the rung's.
    copy_bitrate_ratio: float = Field(default=1.5, ge=0)
    x264_preset: str = "veryfast"
    audio_kbps: int = Field(default=128, gt=0, le=512)
    ffmpeg_timeout_s: float = Field(default=6 * 3600.0, gt=0)
    lease_s: int = Field(default=30, gt=0)
    worker_heartbeat_s: int = Field(default=10, gt=0)
    # Prometheus's /metrics of a worker (all its processes); 0: none.
    metrics_port: int = Field(default=9102, ge=0, le=65535)

    @field_validator("ladder")
    @classmethod
    def _ladder_sorted(cls, ladder: tuple[Rung, ...]) -> tuple[Rung, ...]:
        if not ladder:
            raise ValueError("the ladder needs at least one rung")
        return tuple(sorted(ladder, key=lambda rung: rung.height))

    @field_validator("allowed_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(":") if part]
        return value

    @property
    def top_rung(self) -> Rung:
        return self.ladder[-1]


def shared_settings(settings: Settings) -> dict[str, Any]:
    """The base fields of `settings`, to build another process kind's settings from them
    (the demo runs the API and the edge in one process)."""
    return {name: getattr(settings, name) for name in Settings.model_fields}


def ladder_settings(settings: Settings) -> WorkerSettings:
    """The ladder's settings as the workers read them (SPARC_LADDER, ...: from the same
    environment), for a process whose own settings are another kind (the edge, the API)."""
    if isinstance(settings, WorkerSettings):
        return settings
    return WorkerSettings(**{name: getattr(settings, name) for name in Settings.model_fields})
