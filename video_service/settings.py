"""The control plane's settings, read from the environment once and passed in."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cdn.providers import Provider

PLACEHOLDERS = frozenset({"changethis", "changeme", "secret", "admin", "password"})


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPARC_", extra="ignore")

    state_dir: Path = Path.home() / ".local" / "state" / "sparc-video"
    # SQLite in the state directory by default; PostgreSQL in production.
    database_url: str | None = None
    # A first admin key, for deployments that cannot run `sparc-video keys create`.
    admin_key: SecretStr | None = None
    # What cameras are told to publish to.
    rtsp_public_url: str = "rtsp://127.0.0.1:8554"
    rtsp_realm: str = "sparc-video"
    # The edge: where it listens, where recordings go, how recordings are cut.
    rtsp_host: str = "0.0.0.0"
    rtsp_port: int = 8554
    media_root: Path | None = None
    ffmpeg: str = "ffmpeg"
    segment_seconds: float = Field(default=6.0, gt=0)
    live_window: int = Field(default=10, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    recording_retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    sweep_every_s: float = Field(default=60.0, gt=0)
    # How often the edge looks for pull cameras to start or stop, and the longest wait
    # between attempts to reach one that is down.
    pull_refresh_s: float = Field(default=5.0, gt=0)
    pull_backoff_max_s: float = Field(default=30.0, gt=0)
    # How often a publishing camera is checked to be still enabled.
    enabled_check_s: float = Field(default=2.0, gt=0)
    page_limit_max: int = Field(default=500, gt=0)
    # Delivery. Where players reach this API and its origin (/media), the CDN providers
    # (JSON; none: the origin alone, verifying its own tokens), the origin's token secret
    # (kept in the state directory when unset), token lifetimes and the steering TTL.
    public_url: str = "http://127.0.0.1:8080"
    cdn_providers: tuple[Provider, ...] = ()
    origin_secret: SecretStr | None = None
    token_ttl_s: int = Field(default=3600, gt=0)
    token_window_s: int = Field(default=300, gt=0)
    steering_ttl_s: int = Field(default=10, gt=0)
    # CDN health: providers with a health_url are probed this often; this many failures in
    # a row eject one for cdn_ejection_s, doubling with each ejection up to the max.
    cdn_probe_every_s: float = Field(default=5.0, gt=0)
    cdn_probe_timeout_s: float = Field(default=2.0, gt=0)
    cdn_failure_threshold: int = Field(default=3, gt=0)
    cdn_ejection_s: float = Field(default=30.0, gt=0)
    cdn_ejection_max_s: float = Field(default=600.0, gt=0)
    # Object storage for recordings: unset, the local media directory is the store; set, the
    # edge also uploads each segment and playlist there (MinIO, AWS S3), through a spool.
    # Credentials come the usual AWS ways (AWS_ACCESS_KEY_ID ..., or an instance role).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None

    @field_validator("admin_key")
    @classmethod
    def _refuse_placeholders(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            value = key.get_secret_value()
            if value.lower() in PLACEHOLDERS or len(value) < 16:
                raise ValueError("SPARC_ADMIN_KEY must be a real secret of 16 characters or more")
        return key

    @property
    def resolved_media_root(self) -> Path:
        return self.media_root or self.state_dir / "media"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'sparc-video.db'}"
