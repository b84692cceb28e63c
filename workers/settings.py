"""The one settings object of the workers, read from the environment once and passed in."""

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Rung(BaseModel, frozen=True):
    name: str
    height: int = Field(gt=0)
    video_kbps: int = Field(gt=0)


DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung(name="240p", height=240, video_kbps=400),
    Rung(name="360p", height=360, video_kbps=800),
    Rung(name="480p", height=480, video_kbps=1200),
    Rung(name="720p", height=720, video_kbps=2500),
    Rung(name="1080p", height=1080, video_kbps=5000),
)


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPARC_", extra="ignore")

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "SPARC_REDIS_URL")
    )
    # The Celery broker; the Redis above when unset (RabbitMQ works too: amqp://...).
    broker_url: str | None = None
    state_dir: Path = Path.home() / ".local" / "state" / "sparc-video"
    # Where the edge records and the live ladder is written (the API's SPARC_MEDIA_ROOT).
    media_root_override: Path | None = Field(
        default=None, validation_alias=AliasChoices("SPARC_MEDIA_ROOT", "media_root")
    )
    # Object storage for the live ladder (the API's and the edge's SPARC_S3_BUCKET): unset,
    # the local media directory is the store; set, rung segments and playlists are uploaded
    # there too, through a spool (credentials: boto3's usual AWS_* variables).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    # Local inputs must lie under one of these; `file:` elsewhere is refused.
    allowed_roots: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path.cwd()])
    allow_http: bool = False
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    segment_seconds: float = Field(default=6.0, gt=0)
    live_window: int = Field(default=10, gt=0)
    # The top rung is the source itself when its bitrate is at most this times the rung's.
    copy_bitrate_ratio: float = Field(default=1.5, ge=0)
    x264_preset: str = "veryfast"
    audio_kbps: int = 128
    probe_timeout_s: float = 30.0
    ffmpeg_timeout_s: float = 6 * 3600.0
    # Broker redelivery of a job whose worker vanished; jobs hold a lease, so a
    # redelivery while the first worker still runs is deferred, not duplicated.
    visibility_timeout_s: int = 3600
    restore_interval_s: int = 10
    lease_s: int = 30
    worker_heartbeat_s: int = 10

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
    def media_root(self) -> Path:
        return self.media_root_override or self.state_dir / "media"

    @property
    def top_rung(self) -> Rung:
        return self.ladder[-1]
