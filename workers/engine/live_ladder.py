"""One live segment through the ladder: skip it past its deadline, else fetch its source from
storage, transcode it and store its rungs, then re-render the camera's rung playlists and
planned master under the camera's lock, and report.

Nothing is shared on disk: with a bucket configured, a worker fetches the source segment from
it (the edge's watcher hands each segment to storage before it schedules the job, so it is
there or on its way: the worker waits for it until the job's deadline, then skips with that
reason), encodes into a scratch folder, and puts each rung's segment in the bucket before
saying it is made. Which rung segments are made, which segments were given up, and the
playlists last published live in Redis (`redis_keys.ladder_made`, `ladder_published`), so any
worker renders the playlists from the bucket's source playlist and that state. The master is
planned (`workers.engine.master`): from the job's one probe of its source, no rung probed.
Without a bucket the media root is the store, and the same code reads and writes it in place.

The outcome goes on a Redis stream (`redis_keys.LADDER_OUTCOMES`) for the control plane to turn
into events and publish-lag figures: workers import nothing of the control plane.

A segment job is taken from the queue at once (not acknowledged late: the broker would hold
a lost one for its whole visibility timeout, an hour, when its deadline is 18 s). Instead
its worker holds a short lease on the segment (`redis_keys.segment_lease`, renewed every second)
and marks it `running`, then `done`; the scheduler that queued it sees a job `running`
without a lease (its worker died) and queues it again while its deadline allows
(`edge.scheduler`). A second delivery of a segment another worker holds does nothing.
"""

import contextlib
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

from workers.base import redis_keys
from workers.base.errors import StorageRefused, StorageUnavailable, TranscodeError
from workers.base.layout import (
    SOURCE,
    MediaLayout,
    master_key,
    playlist_key,
    segment_key,
    segment_number,
)
from workers.base.leases import Lease
from workers.base.settings import Settings, WorkerSettings
from workers.base.storage import LocalStorage, Storage
from workers.engine.commands import Accel
from workers.engine.errors import SourceLate
from workers.engine.ladder import LadderPlan, plan_ladder
from workers.engine.master import planned_master
from workers.engine.playlists import (
    build_rung_playlist,
    listed_segments,
    media_sequence_of,
    parse_source_window,
)
from workers.engine.probe import SourceInfo, probe_file
from workers.engine.segment_job import SegmentWork, run_segment_job

log = logging.getLogger(__name__)

DEADLINE_SEGMENTS = 3
SEGMENT_LEASE_S = 3.0
RENDER_LEASE_S = 1.5
RUNNING, DONE = b"running", b"done"
MADE, GIVEN_UP = b"made", b"given-up"
MASTER = "master"  # the published master's field beside the rungs' in `redis_keys.ladder_published`
STATE_TTL_S = 3600  # a camera's ladder state outlives an hour without a render by nothing
# Rung segments this many behind the source window are deleted from storage (as FFmpeg's
# hls_delete_threshold: a player holding the playlist before last still finds its segments).
KEPT_BEHIND = 3
SOURCE_POLL_S = 0.2
STORAGE_FAULTS = (StorageUnavailable, StorageRefused)


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
    storage: Storage,
    clock: Callable[[], float] = time.time,
) -> LiveOutcome | None:
    """The outcome; None when another worker holds the segment or has finished it."""
    lease = Lease(client, redis_keys.segment_lease(camera_id, segment), SEGMENT_LEASE_S)
    if not lease.acquire():
        return None
    state = redis_keys.segment_state(camera_id, segment)
    remember_ms = int(2 * deadline_s(settings) * 1000)
    if client.get(state) == DONE:  # a second delivery of a finished segment
        lease.release()
        return None
    with lease.held():
        client.set(state, RUNNING, px=remember_ms)
        result = _run(client, settings, camera_id, segment, closed_at, accel, storage, clock)
        client.set(state, DONE, px=remember_ms)
    return result


def _run(
    client: redis.Redis,
    settings: WorkerSettings,
    camera_id: str,
    segment: str,
    closed_at: float,
    accel: Accel,
    storage: Storage,
    clock: Callable[[], float],
) -> LiveOutcome:
    outcome = "done"
    error: str | None = None
    plan: LadderPlan | None = None
    source: SourceInfo | None = None
    deadline = closed_at + deadline_s(settings)
    with job_layout(storage, settings) as layout:
        work = SegmentWork(layout, camera_id, segment)
        try:
            if clock() > deadline:
                raise SourceLate("past its deadline before a worker took it")
            fetch_source(storage, work, deadline, clock)
            source = probe_file(work.source, settings)
            plan = plan_ladder(source, settings)
            run_segment_job(work, plan, settings, accel)
            for rung in plan.encoded:
                key = segment_key(camera_id, rung.name, segment)
                storage.put_file(key, work.rendition_file(rung.name))
            made = {f"{rung.name}/{segment}": MADE for rung in plan.encoded}
            client.hset(redis_keys.ladder_made(camera_id), mapping=made)  # type: ignore[arg-type]
        except SourceLate as late:
            outcome, error = "skipped", str(late)
        except TranscodeError as failure:  # storage's faults among them
            outcome, error = "failed", str(failure)
    if outcome == "skipped":  # a gap in every rung at once, not after the deadline
        client.hset(redis_keys.ladder_made(camera_id), f"*/{segment}", GIVEN_UP)
    with camera_lock(client, camera_id):
        try:
            listed = render_live_ladder(
                client, storage, camera_id, settings, now=clock(), plan=plan, source=source
            )
        except STORAGE_FAULTS as fault:  # the next segment's render puts them
            log.warning("camera %s's playlists were not stored: %s", camera_id, fault)
            listed = {}
    result = LiveOutcome(
        camera_id, segment, outcome, closed_at, clock(), listed.get(segment, {}), error
    )
    client.xadd(redis_keys.LADDER_OUTCOMES, {"outcome": json.dumps(asdict(result))}, maxlen=10_000)
    return result


@contextlib.contextmanager
def job_layout(storage: Storage, settings: WorkerSettings) -> Iterator[MediaLayout]:
    """Where a job's files are: the media root itself when it is the store, else a scratch
    folder of this job's (under the state directory), removed after."""
    if isinstance(storage, LocalStorage):
        yield MediaLayout(storage.root)
        return
    scratch = settings.state_dir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="segment-", dir=scratch) as folder:
        yield MediaLayout(Path(folder))


def fetch_source(
    storage: Storage,
    work: SegmentWork,
    deadline: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """The job's source segment at `work.source`: in place with a local store; else from
    the bucket, waiting for the edge's upload (storage down, or behind) until `deadline`."""
    if isinstance(storage, LocalStorage):
        if not work.source.exists():
            raise SourceLate(f"source segment {work.segment} is gone (past retention?)")
        return
    key = segment_key(work.camera_id, SOURCE, work.segment)
    while True:
        try:
            data = storage.get_bytes(key)
            break
        except (KeyError, *STORAGE_FAULTS) as missing:
            if clock() > deadline:
                why = "not in storage" if isinstance(missing, KeyError) else str(missing)
                raise SourceLate(
                    f"source segment {work.segment} did not reach storage by its deadline ({why})"
                ) from None
            sleep(SOURCE_POLL_S)
    work.source.parent.mkdir(parents=True, exist_ok=True)
    work.source.write_bytes(data)


def render_live_ladder(
    client: redis.Redis,
    storage: Storage,
    camera_id: str,
    settings: WorkerSettings,
    *,
    now: float,
    plan: LadderPlan | None = None,
    source: SourceInfo | None = None,
) -> dict[str, dict[str, float]]:
    """Re-render every encoded rung's playlist from the stored source playlist and the
    ladder's state in Redis, put what changed in storage (each rung segment it lists is
    there already), and the planned master when `plan` and `source` are known (a job that
    got no plan renders the rungs published before). Returns, per segment newly listed,
    when, by rung."""
    try:
        window = parse_source_window(storage.get_bytes(playlist_key(camera_id, SOURCE)).decode())
    except KeyError:
        return {}
    if not window.entries:
        return {}
    state = _decoded_keys(client.hgetall(redis_keys.ladder_made(camera_id)))
    listed = _decoded_keys(client.hgetall(redis_keys.ladder_published(camera_id)))
    published = {name: text.decode() for name, text in listed.items()}
    rungs = [rung.name for rung in plan.encoded] if plan else sorted(set(published) - {MASTER})
    skipped = {name[2:] for name in state if name.startswith("*/")}
    newly: dict[str, dict[str, float]] = {}
    changed: dict[str, str] = {}
    for rung in rungs:
        available = {name[len(rung) + 1 :] for name in state if name.startswith(f"{rung}/")}
        previous = published.get(rung, "")
        text = build_rung_playlist(
            window,
            available,
            now=now,
            deadline_s=deadline_s(settings),
            floor=media_sequence_of(previous),
            skipped=skipped,
        )
        if text == previous:
            continue
        storage.put_bytes(playlist_key(camera_id, rung), text.encode())
        changed[rung] = text
        for uri in sorted(listed_segments(text) - listed_segments(previous)):
            newly.setdefault(uri, {})[rung] = now
    if plan is not None and source is not None:
        master = planned_master(plan, source, settings)
        if master != published.get(MASTER):
            storage.put_bytes(master_key(camera_id), master.encode())
            changed[MASTER] = master
    pipe = client.pipeline(transaction=False)
    if changed:
        pipe.hset(redis_keys.ladder_published(camera_id), mapping=changed)  # type: ignore[arg-type]
    first = segment_number(window.entries[0].uri)
    behind = [] if first is None else _left_behind(state, first - KEPT_BEHIND)
    if behind:
        pipe.hdel(redis_keys.ladder_made(camera_id), *behind)
    pipe.expire(redis_keys.ladder_made(camera_id), STATE_TTL_S)
    pipe.expire(redis_keys.ladder_published(camera_id), STATE_TTL_S)
    pipe.execute()
    for name in behind:
        rung, _, segment = name.partition("/")
        if rung != "*" and state[name] == MADE:
            storage.delete(segment_key(camera_id, rung, segment))
    return newly


def _decoded_keys(found: Any) -> dict[str, bytes]:
    """A hash as Redis gives it (bytes to bytes), its field names decoded."""
    return {bytes(name).decode(): bytes(value) for name, value in found.items()}


def _left_behind(state: dict[str, bytes], oldest: int) -> list[str]:
    """The entries of segments numbered below `oldest`."""
    return [
        name
        for name in state
        if (number := segment_number(name.partition("/")[2])) is not None and number < oldest
    ]


@contextlib.contextmanager
def camera_lock(client: redis.Redis, camera_id: str, wait_s: float = 10.0) -> Iterator[None]:
    """Playlists of one camera are rendered by one process at a time, so that a slower
    render can never put back a view older than the one a faster render wrote. A short
    lease, renewed while held: one left behind by a holder that died (or by Redis going
    away mid-render, its append-only file keeping the key) lapses within `RENDER_LEASE_S`."""
    lease = Lease(client, redis_keys.render_lease(camera_id), RENDER_LEASE_S)
    deadline = time.monotonic() + wait_s
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the render lock of camera {camera_id} stayed taken")
        time.sleep(0.02)
    with lease.held():
        yield
