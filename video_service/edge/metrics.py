"""The edge's metrics: cameras online, ingest, recorder restarts, publish lag, the ladder's
outcomes as reported to it, free space on the recording disk, live viewers over WebRTC (and
its upload spool, read at scrape time: `workers.base.metrics.spool_collector`)."""

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Gauge, Histogram

LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 18.0, 30.0)


@dataclass(frozen=True)
class EdgeMetrics:
    cameras_online: Gauge
    ingest_bytes: Counter
    recorder_restarts: Counter
    publish_lag: Histogram
    ladder_outcomes: Counter
    disk_free_bytes: Gauge
    webrtc_viewers: Gauge
    webrtc_refusals: Counter


@cache
def edge_metrics() -> EdgeMetrics:
    return EdgeMetrics(
        Gauge("sparc_edge_cameras_online", "Cameras this edge is recording now.",
              multiprocess_mode="livesum"),
        Counter("sparc_edge_ingest_bytes", "Bytes received from cameras."),
        Counter("sparc_recorder_restarts", "Recorders started again for a camera already "
                "recorded by this edge (a reconnect, a pull camera retried)."),
        Histogram("sparc_publish_lag_seconds", "From a source segment closed to its rendition "
                  "listed in a playlist.", ["rendition"], buckets=LAG_BUCKETS),
        Counter("sparc_ladder_outcomes", "Live ladder jobs reported to this edge's scheduler.",
                ["outcome"]),
        Gauge("sparc_edge_disk_free_bytes", "Free space on the recording disk.",
              multiprocess_mode="liveall"),
        Gauge("sparc_edge_webrtc_viewers", "Live viewers over WebRTC (WHEP) on this edge now.",
              multiprocess_mode="livesum"),
        Counter("sparc_edge_webrtc_refusals", "WHEP offers refused, by HTTP status.",
                ["status"]),
    )  # fmt: skip
