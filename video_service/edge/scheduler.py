"""The ladder follows the viewers: each new source segment of a camera with a score above 0
(viewers x the site's tier, capped at 1000) is queued for the lower rungs at that score; a
camera's first viewer also queues its last two segments so the rungs start at once.

Outcomes come back from the workers on a Redis stream and become events and publish-lag
samples here, on the control plane's side of the boundary. While it reads them (the edge
does), the scheduler also watches the jobs it queued: one a worker began (`running`) whose
lease has lapsed with no outcome lost its worker, and is queued again while its deadline
allows (see `workers.engine.live_ladder`): the visibility timeout of live work is the lease's 3 s,
not the broker's hour.
"""

import asyncio
import json
import logging
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from video_service.edge.events import EventSink, EventType, NewEvent, record_or_log
from video_service.edge.metrics import edge_metrics
from video_service.shared.recording_index import Recorded
from video_service.shared.viewer_sessions import count_viewers, expire_sessions
from workers.base import redis_keys
from workers.base.layout import SOURCE, MediaLayout, playlist_key, segment_key
from workers.base.settings import ladder_settings
from workers.engine.ladder import plan_ladder
from workers.engine.live_ladder import RUNNING
from workers.engine.master import keep_planned_master, planned_master
from workers.engine.playlists import parse_source_window
from workers.engine.probe import probe_file
from workers.queue.celery_app import SparcCelery
from workers.queue.dispatch import submit_segment
from workers.queue.priority import build_score

log = logging.getLogger(__name__)

LAG_SAMPLES = 500
_OUTCOME_EVENTS = {
    "done": EventType.LADDER_JOB_DONE,
    "skipped": EventType.LADDER_JOB_SKIPPED,
    "failed": EventType.LADDER_JOB_FAILED,
}


@dataclass(frozen=True)
class NewSegment:
    uri: str
    closed_at: float
    listed_at: float
    recorded: Recorded | None = None  # what the recording index keeps of it


@dataclass(frozen=True)
class Job:
    camera_id: str
    segment: str
    closed_at: float
    score: int


class InFlight:
    """The segment jobs queued and not yet reported on (threads add and finish them)."""

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[(job.camera_id, job.segment)] = job

    def finish(self, camera_id: str, segment: str) -> None:
        with self._lock:
            self._jobs.pop((camera_id, segment), None)

    def due(self, now: float, deadline_s: float) -> list[Job]:
        """The jobs still within their deadline (those past it are dropped: a gap)."""
        with self._lock:
            for key in [k for k, job in self._jobs.items() if now > job.closed_at + deadline_s]:
                del self._jobs[key]
            return list(self._jobs.values())


class LadderScheduler:
    def __init__(
        self,
        client: redis.Redis,
        app: SparcCelery,
        events: EventSink,
        layout: MediaLayout,
        *,
        deadline_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._app = app
        self._events = events
        self._layout = layout
        self._deadline_s = deadline_s
        self._clock = clock
        self._outcomes_from = "$"
        self._in_flight: InFlight | None = None  # watched where outcomes are read

    @property
    def redis(self) -> redis.Redis:
        return self._redis

    @property
    def app(self) -> SparcCelery:
        return self._app

    def describe(self, camera_id: str, segment: Path) -> None:
        """Plan the camera's master from one of its segments (once per publish) and keep it
        in Redis, where API nodes find it before any worker has run (`workers.engine.master`)."""
        settings = ladder_settings(self._app.settings)
        source = probe_file(segment, settings)
        plan = plan_ladder(source, settings)
        keep_planned_master(self._redis, camera_id, planned_master(plan, source, settings))

    def score(self, camera_id: str, tier: int) -> int:
        return build_score(count_viewers(self._redis, camera_id, now=self._clock()), tier)

    def on_new_segments(
        self, camera_id: str, site_id: str, tier: int, segments: list[NewSegment]
    ) -> int:
        """Events and lag for each recorded segment; queue them if anyone watches."""
        self.recorded(camera_id, site_id, segments)
        return self.schedule(camera_id, site_id, tier, segments)

    def recorded(self, camera_id: str, site_id: str, segments: list[NewSegment]) -> None:
        """A `segment_recorded` event for each (the database's: Redis may be away)."""
        record_or_log(self._events, [
            NewEvent(EventType.SEGMENT_RECORDED, camera_id, site_id, {"segment": segment.uri})
            for segment in segments
        ])  # fmt: skip

    def schedule(self, camera_id: str, site_id: str, tier: int, segments: list[NewSegment]) -> int:
        """Lag for each segment, and its job if anyone watches (sessions that lapsed are
        `viewer_left`). Redis's errors are raised: the caller keeps the segments and calls
        again once Redis is back, when a job still in time is done and one past its deadline
        is marked a gap at once (rather than the rung waiting out the deadline for it)."""
        score = self.score(camera_id, tier)
        left = expire_sessions(self._redis, camera_id, now=self._clock())
        if left:
            record_or_log(self._events, [
                NewEvent(EventType.VIEWER_LEFT, camera_id, site_id, {"viewer": viewer})
                for viewer in left
            ])  # fmt: skip
        for segment in segments:
            record_lag(self._redis, camera_id, SOURCE, segment.listed_at - segment.closed_at)
            if score > 0:
                self._submit(Job(camera_id, segment.uri, segment.closed_at, score))
        return score

    def _submit(self, job: Job) -> None:
        submit_segment(self._app, self._redis, job.camera_id, job.segment, job.closed_at,
                       job.score)  # fmt: skip
        if self._in_flight is not None:
            self._in_flight.add(job)

    def queue_recent(self, camera_id: str, tier: int, count: int = 2) -> int:
        """A camera's first viewer: its last `count` segments, so that the rungs start at
        once, and any before them still within their deadline (after Redis lost its state,
        the rung would otherwise wait out the deadline of each segment nobody queued)."""
        playlist = self._layout.path(playlist_key(camera_id, SOURCE))
        if not playlist.exists():
            return 0
        entries = parse_source_window(playlist.read_text()).entries
        now = self._clock()
        score = self.score(camera_id, tier)
        queued = 0
        for index, entry in enumerate(entries):
            closed = self._layout.path(segment_key(camera_id, SOURCE, entry.uri)).stat().st_mtime
            if index >= len(entries) - count or now < closed + self._deadline_s:
                self._submit(Job(camera_id, entry.uri, closed, max(score, 1)))
                queued += 1
        return queued

    def drain_outcomes(self, block_ms: int = 500) -> int:
        """Turn worker outcomes into events and rung lag samples; returns how many."""
        found: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = self._redis.xread(
            {redis_keys.LADDER_OUTCOMES: self._outcomes_from}, count=200, block=block_ms
        )  # type: ignore[assignment]
        handled = 0
        for _, messages in found or []:
            for message_id, fields in messages:
                self._outcomes_from = message_id.decode()
                self._record_outcome(json.loads(fields[b"outcome"]))
                handled += 1
        return handled

    async def drain_outcomes_forever(self) -> None:
        """For as long as the edge runs: outcomes read, lost jobs queued again; Redis faults
        are logged and waited out."""
        self._in_flight = InFlight()
        while True:
            try:
                await asyncio.to_thread(self.drain_outcomes, 500)
                for job in await asyncio.to_thread(self.requeue_lost):
                    log.warning("segment %s of %s lost its worker: queued again", job.segment,
                             job.camera_id)  # fmt: skip
            except (OSError, redis.RedisError) as error:
                log.warning("reading ladder outcomes failed: %s; retrying", error)
                await asyncio.sleep(1)

    def requeue_lost(self) -> list[Job]:
        """Jobs begun whose lease lapsed without an outcome, within their deadline."""
        if self._in_flight is None:
            return []
        now = self._clock()
        lost = []
        for job in self._in_flight.due(now, self._deadline_s):
            state = self._redis.get(redis_keys.segment_state(job.camera_id, job.segment))
            if state == RUNNING and not self._redis.exists(
                redis_keys.segment_lease(job.camera_id, job.segment)
            ):
                self._redis.delete(redis_keys.segment_state(job.camera_id, job.segment))
                self._submit(job)
                lost.append(job)
        return lost

    def _record_outcome(self, outcome: dict[str, object]) -> None:
        camera_id = str(outcome["camera_id"])
        if self._in_flight is not None:
            self._in_flight.finish(camera_id, str(outcome["segment"]))
        edge_metrics().ladder_outcomes.labels(str(outcome["outcome"])).inc()
        kind = _OUTCOME_EVENTS[str(outcome["outcome"])]
        detail = {"segment": outcome["segment"], "error": outcome.get("error")}
        record_or_log(self._events, [NewEvent(kind, camera_id, None, detail)])
        closed_at = float(outcome["closed_at"])  # type: ignore[arg-type]
        listed = outcome.get("listed_at") or {}
        assert isinstance(listed, dict)
        for rung, at in listed.items():
            record_lag(self._redis, camera_id, str(rung), float(at) - closed_at)


def record_lag(client: redis.Redis, camera_id: str, rendition: str, seconds: float) -> None:
    edge_metrics().publish_lag.labels(rendition).observe(max(seconds, 0.0))
    key = redis_keys.publish_lag(camera_id, rendition)
    client.lpush(key, f"{max(seconds, 0.0):.4f}")
    client.ltrim(key, 0, LAG_SAMPLES - 1)


def lag_summary(client: redis.Redis, camera_id: str) -> dict[str, dict[str, float]]:
    """p50 and p95 of the publish lag, in seconds, per rendition."""
    summary: dict[str, dict[str, float]] = {}
    prefix = redis_keys.publish_lag(camera_id)
    for key in client.scan_iter(match=prefix + "*"):
        samples = sorted(float(v) for v in client.lrange(key, 0, -1))
        if not samples:
            continue
        rendition = key.decode()[len(prefix) :]
        summary[rendition] = {
            "p50_s": statistics.median(samples),
            "p95_s": samples[min(len(samples) - 1, int(0.95 * len(samples)))],
            "samples": float(len(samples)),
        }
    return summary
