"""The RTSP edge's settings: where it listens, how long it waits, how it follows pull
cameras (how long recordings are kept is shared: `workers.base.settings`). Read once per
process from the environment."""

from pydantic import Field, SecretStr, field_validator

from video_service.edge.live_view.ice import parse_port_range
from workers.base.settings import Settings


class EdgeSettings(Settings):
    rtsp_host: str = "0.0.0.0"
    rtsp_port: int = Field(default=8554, ge=0, le=65535)
    # A client must finish each request within this long, or it is dropped.
    request_timeout_s: float = Field(default=10.0, gt=0)
    # RTSP connections the edge holds at once (an address, half of them); 0: a quarter of
    # its file descriptors (raise `ulimit -n` for more cameras).
    rtsp_max_connections: int = Field(default=0, ge=0, le=1_000_000)
    sweep_every_s: float = Field(default=60.0, gt=0)
    # How often the edge looks for pull cameras to start or stop, and the longest wait
    # between attempts to reach one that is down.
    pull_refresh_s: float = Field(default=5.0, gt=0)
    pull_backoff_max_s: float = Field(default=30.0, gt=0)
    # How often a publishing camera is checked to be still enabled.
    enabled_check_s: float = Field(default=2.0, gt=0)
    # The recording disk: below `low` free, an event and a warning; below `stop`, recording
    # stops cleanly (and publishers are refused) until there is `low` again.
    disk_low_bytes: int = Field(default=1024**3, ge=0)
    disk_stop_bytes: int = Field(default=100 * 1024**2, ge=0)
    # Prometheus's /metrics of the edge; 0: none.
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    # Live view over WebRTC (WHEP): where it listens (port 0: not served), the most viewers
    # at once on this edge (beyond it, 503), and the STUN/TURN servers viewers outside the
    # LAN need (a JSON list of URLs: stun:host:3478, turn:host:3478?transport=udp), with the
    # TURN servers' credentials.
    whep_host: str = "0.0.0.0"
    # Where viewers reach this edge's live view (http://edge-3.example:8889), told to the API
    # with the camera's ownership; unset: the API's SPARC_WHEP_URL.
    whep_public_url: str | None = None
    whep_port: int = Field(default=8889, ge=0, le=65535)
    webrtc_max_viewers: int = Field(default=200, gt=0)
    # A session whose viewer has not connected this long after its answer ends (its slot
    # back); and how many such sessions, not connected yet, one viewer token may hold (a
    # token is shared by the camera's viewers for its window: they connect in a second).
    webrtc_connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    webrtc_pending_per_token: int = Field(default=8, gt=0, le=100)
    webrtc_ice_servers: tuple[str, ...] = ()
    webrtc_turn_username: str | None = None
    webrtc_turn_password: SecretStr | None = None
    # Where viewers' media arrives: host candidates on this interface (`eth0`) or address
    # only (unset: every interface), on a port of this range (`40000-40199`; one port per
    # viewer and address, so at least SPARC_WEBRTC_MAX_VIEWERS of them; unset: ephemeral).
    webrtc_interface: str | None = None
    webrtc_udp_ports: str | None = None

    @field_validator("webrtc_udp_ports")
    @classmethod
    def _port_range(cls, value: str | None) -> str | None:
        if value:
            parse_port_range(value)
        return value
