"""One live segment through the ladder: skip it past its deadline, else transcode it, then
re-render the camera's rung playlists and master under the camera's lock, and report.

The outcome goes on a Redis stream (`sparc:ladder:outcomes`) for the control plane to turn
into events and publish-lag figures: workers import nothing of the control plane.

A segment job is taken from the queue at once (not acknowledged late: the broker would hold
a lost one for its whole visibility timeout, an hour, when its deadline is 18 s). Instead
its worker holds a short lease on the segment (`segment_lease_key`, renewed every second)
and marks it `running`, then `done`; the scheduler that queued it sees a job `running`
without a lease (its worker died) and queues it again while its deadline allows
(`edge.scheduler`). A second delivery of a segment another worker holds does nothing.
"""

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from workers.commands import Accel
from workers.errors import TranscodeError
from workers.ladder import LadderPlan
from workers.layout import (
    MASTER_PLAYLIST,
    MEDIA_PLAYLIST,
    SOURCE,
    MediaLayout,
    master_key,
    playlist_key,
    segment_key,
    skipped_mark,
    skipped_segment,
)
from workers.leases import Lease
from workers.outputs import replace_text
from workers.playlists import (
    Rendition,
    build_rung_playlist,
    describe_rendition,
    listed_segments,
    media_sequence_of,
    parse_source_window,
    write_master_playlist,
)
from workers.segment_job import SegmentWork, plan_segment_work, run_segment_job
from workers.settings import Settings, WorkerSettings
from workers.storage import Uploads

OUTCOMES = "sparc:ladder:outcomes"
DEADLINE_SEGMENTS = 3
SEGMENT_LEASE_S = 3.0
RENDER_LEASE_S = 1.5
RUNNING, DONE = b"running", b"done"


def segment_lease_key(camera_id: str, segment: str) -> str:
    return f"sparc:segment:lease:{camera_id}:{segment}"


def segment_state_key(camera_id: str, segment: str) -> str:
    return f"sparc:segment:state:{camera_id}:{segment}"


@dataclass(frozen=True)
class LiveOutcome:
    camera_id: str
    segment: str
    outcome: str  # done, skipped, failed
    closed_at: float
    finished_at: float
    listed_at: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def deadline_s(settings: Settings) -> float:
    return DEADLINE_SEGMENTS * settings.segment_seconds


def run_live_segment(
    client: redis.Redis,
    settings: WorkerSettings,
    camera_id: str,
    segment: str,
    closed_at: float,
    *,
    accel: Accel = Accel.CPU,
    uploads: Uploads,
    clock: Callable[[], float] = time.time,
) -> LiveOutcome | None:
    """The outcome; None when another worker holds the segment or has finished it."""
    lease = Lease(client, segment_lease_key(camera_id, segment), SEGMENT_LEASE_S)
    if not lease.acquire():
        return None
    state = segment_state_key(camera_id, segment)
    remember_ms = int(2 * deadline_s(settings) * 1000)
    if client.get(state) == DONE:  # a second delivery of a finished segment
        lease.release()
        return None
    with lease.held():
        client.set(state, RUNNING, px=remember_ms)
        result = _run(client, settings, camera_id, segment, closed_at, accel, uploads, clock)
        client.set(state, DONE, px=remember_ms)
    return result


def _run(
    client: redis.Redis,
    settings: WorkerSettings,
    camera_id: str,
    segment: str,
    closed_at: float,
    accel: Accel,
    uploads: Uploads,
    clock: Callable[[], float],
) -> LiveOutcome:
    work = SegmentWork(MediaLayout(settings.media_root), camera_id, segment)
    outcome = "done"
    error: str | None = None
    plan: LadderPlan | None = None
    try:
        plan = plan_segment_work(work, settings)
        if clock() > closed_at + deadline_s(settings):
            outcome = "skipped"
            mark_skipped(work, plan)
        else:
            run_segment_job(work, plan, settings, accel)
    except TranscodeError as failure:
        outcome, error = "failed", str(failure)
    with camera_lock(client, camera_id):
        listed = render_live_ladder(
            work.layout, camera_id, settings, now=clock(), plan=plan, uploads=uploads
        )
    result = LiveOutcome(
        camera_id, segment, outcome, closed_at, clock(), listed.get(segment, {}), error
    )
    client.xadd(OUTCOMES, {"outcome": json.dumps(asdict(result))}, maxlen=10_000)
    return result


def render_live_ladder(
    layout: MediaLayout,
    camera_id: str,
    settings: WorkerSettings,
    *,
    now: float,
    uploads: Uploads,
    plan: LadderPlan | None = None,
) -> dict[str, dict[str, float]]:
    """Re-render every encoded rung's playlist; returns, per segment newly listed, when.
    `plan`: the job's own, already probed; else the newest source segment is probed.
    `uploads`: storage gets each newly listed segment, then the playlist naming it."""
    source_playlist = layout.path(playlist_key(camera_id, SOURCE))
    if not source_playlist.exists():
        return {}
    window = parse_source_window(source_playlist.read_text())
    if not window.entries:
        return {}
    newest = SegmentWork(layout, camera_id, window.entries[-1].uri)
    plan = plan or plan_segment_work(newest, settings)
    newly: dict[str, dict[str, float]] = {}
    for rung in plan.encoded:
        rung_dir = layout.rendition_dir(camera_id, rung.name)
        rung_dir.mkdir(parents=True, exist_ok=True)
        names = os.listdir(rung_dir)
        available = {name for name in names if name.endswith(".ts")}
        skipped = {found for name in names if (found := skipped_segment(name)) is not None}
        previous = _read(rung_dir / MEDIA_PLAYLIST)
        text = build_rung_playlist(
            window,
            available,
            now=now,
            deadline_s=deadline_s(settings),
            floor=media_sequence_of(previous),
            skipped=skipped,
        )
        replace_text(rung_dir / MEDIA_PLAYLIST, text)
        fresh = sorted(listed_segments(text) - listed_segments(previous))
        for uri in fresh:
            newly.setdefault(uri, {})[rung.name] = now
        if text != previous:
            for uri in fresh:
                uploads.put(segment_key(camera_id, rung.name, uri), rung_dir / uri)
            uploads.put_text(playlist_key(camera_id, rung.name), text)
    camera_dir = layout.camera_dir(camera_id)
    before = _read(camera_dir / MASTER_PLAYLIST)
    _write_master(layout, camera_id, plan, settings)
    after = _read(camera_dir / MASTER_PLAYLIST)
    if after and after != before:
        uploads.put_text(master_key(camera_id), after)
    return newly


def mark_skipped(work: SegmentWork, plan: LadderPlan) -> None:
    """Leave a mark in each encoded rung, so the playlists show the gap at once."""
    for rung in plan.encoded:
        rung_dir = work.layout.rendition_dir(work.camera_id, rung.name)
        rung_dir.mkdir(parents=True, exist_ok=True)
        (rung_dir / skipped_mark(work.segment)).touch()


def _write_master(
    layout: MediaLayout, camera_id: str, plan: LadderPlan, settings: WorkerSettings
) -> None:
    renditions: list[Rendition] = []
    for rung in plan.rungs:
        folder = SOURCE if rung.copy else rung.name
        described = describe_rendition(folder, layout.rendition_dir(camera_id, folder), settings)
        if described is None:
            return  # the master appears once every rung has a segment
        renditions.append(described)
    write_master_playlist(layout.camera_dir(camera_id), renditions)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def camera_lock(client: redis.Redis, camera_id: str, wait_s: float = 10.0) -> Iterator[None]:
    """Playlists of one camera are rendered by one process at a time, so that a slower
    render can never put back a view older than the one a faster render wrote. A short
    lease, renewed while held: one left behind by a holder that died (or by Redis going
    away mid-render, its append-only file keeping the key) lapses within `RENDER_LEASE_S`."""
    lease = Lease(client, f"sparc:render:{camera_id}", RENDER_LEASE_S)
    deadline = time.monotonic() + wait_s
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the render lock of camera {camera_id} stayed taken")
        time.sleep(0.02)
    with lease.held():
        yield
