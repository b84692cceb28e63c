"""The control API's settings: delivery's (it serves the origin and the playback API) plus
what only the API needs. Read once per process from the environment (SPARC_*)."""

from pydantic import Field, SecretStr, field_validator

from video_service.delivery.settings import DeliverySettings

PLACEHOLDERS = frozenset({"changethis", "changeme", "secret", "admin", "password"})


class ApiSettings(DeliverySettings):
    # A first admin key, for deployments that cannot run `sparc-video keys create`.
    admin_key: SecretStr | None = None
    # What cameras are told to publish to.
    rtsp_public_url: str = "rtsp://127.0.0.1:8554"
    # Threads for the routes that wait on the database, one connection each: the database
    # pool holds this many and a few for background work, so no request waits on the pool.
    api_threads: int = Field(default=40, ge=1, le=1000)
    # Events older than this are dropped (PostgreSQL: whole monthly partitions).
    event_retention_days: int = Field(default=90, ge=1, le=3650)
    # MP4 exports made at once by one server process (each may take gigabytes of the state
    # directory until sent); more are answered 503.
    exports_at_once: int = Field(default=2, ge=1, le=100)
    # A client fetching an export that reads nothing this long is cut off (its slot back).
    export_stall_s: float = Field(default=30.0, gt=0, le=3600)
    # The OpenAPI schema and its pages (/openapi.json, /docs, /redoc): public when on (they
    # name the routes, never data); off, they are not served at all.
    api_docs: bool = True
    # Event streams (server-sent events) one server process keeps open, and one key (or
    # session) may hold; past them, 503 and 429.
    event_streams_max: int = Field(default=2000, ge=1, le=100_000)
    event_streams_per_key: int = Field(default=10, ge=1, le=1000)

    # A console session ends this long after its last request (and at once on sign-out, or
    # when its user is disabled or deleted).
    session_idle_s: float = Field(default=8 * 3600.0, gt=0, le=30 * 24 * 3600.0)

    # Linked from the console's operations page where set (http:// or https:// only).
    grafana_url: str | None = Field(default=None, pattern=r"^https?://[^\s]{1,2000}$")

    @field_validator("admin_key")
    @classmethod
    def _refuse_placeholders(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            value = key.get_secret_value()
            if value.lower() in PLACEHOLDERS or len(value) < 16:
                raise ValueError("SPARC_ADMIN_KEY must be a real secret of 16 characters or more")
        return key
