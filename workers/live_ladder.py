"""One live segment through the ladder: skip it past its deadline, else transcode it, then
re-render the camera's rung playlists and master under the camera's lock, and report.

The outcome goes on a Redis stream (`sparc:ladder:outcomes`) for the control plane to turn
into events and publish-lag figures: workers import nothing of the control plane.
"""

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from workers.commands import MASTER_PLAYLIST, MEDIA_PLAYLIST, Accel
from workers.errors import TranscodeError
from workers.ladder import LadderPlan
from workers.live_playlist import build_rung_playlist, media_sequence_of, parse_source_window
from workers.outputs import replace_text
from workers.playlists import Rendition, describe_rendition, write_master_playlist
from workers.segment_job import (
    SOURCE_DIR,
    SegmentWork,
    plan_segment_work,
    run_segment_job,
)
from workers.settings import WorkerSettings
from workers.storage import Spool

OUTCOMES = "sparc:ladder:outcomes"
DEADLINE_SEGMENTS = 3


@dataclass(frozen=True)
class LiveOutcome:
    camera_id: str
    segment: str
    outcome: str  # done, skipped, failed
    closed_at: float
    finished_at: float
    listed_at: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def deadline_s(settings: WorkerSettings) -> float:
    return DEADLINE_SEGMENTS * settings.segment_seconds


def run_live_segment(
    client: redis.Redis,
    settings: WorkerSettings,
    camera_id: str,
    segment: str,
    closed_at: float,
    *,
    accel: Accel = Accel.CPU,
    clock: Callable[[], float] = time.time,
    spool: Spool | None = None,
) -> LiveOutcome:
    work = SegmentWork(settings.media_root / "live" / camera_id, segment)
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
        listed = render_live_ladder(work.camera_dir, settings, now=clock(), plan=plan, spool=spool)
    result = LiveOutcome(
        camera_id, segment, outcome, closed_at, clock(), listed.get(segment, {}), error
    )
    client.xadd(OUTCOMES, {"outcome": json.dumps(asdict(result))}, maxlen=10_000)
    return result


def render_live_ladder(
    camera_dir: Path,
    settings: WorkerSettings,
    *,
    now: float,
    plan: LadderPlan | None = None,
    spool: Spool | None = None,
) -> dict[str, dict[str, float]]:
    """Re-render every encoded rung's playlist; returns, per segment newly listed, when.
    `plan`: the job's own, already probed; else the newest source segment is probed.
    `spool`: object storage gets each newly listed segment, then the playlist naming it."""
    source_playlist = camera_dir / SOURCE_DIR / MEDIA_PLAYLIST
    if not source_playlist.exists():
        return {}
    window = parse_source_window(source_playlist.read_text())
    if not window.entries:
        return {}
    plan = plan or plan_segment_work(SegmentWork(camera_dir, window.entries[-1].uri), settings)
    newly: dict[str, dict[str, float]] = {}
    for rung in plan.encoded:
        rung_dir = camera_dir / rung.name
        rung_dir.mkdir(parents=True, exist_ok=True)
        names = os.listdir(rung_dir)
        available = {name for name in names if name.endswith(".ts")}
        skipped = {name[1 : -len(_SKIPPED)] for name in names if name.endswith(_SKIPPED)}
        previous = _read(rung_dir / MEDIA_PLAYLIST)
        floor = media_sequence_of(previous)
        text = build_rung_playlist(
            window,
            available,
            now=now,
            deadline_s=deadline_s(settings),
            floor=floor,
            skipped=skipped,
        )
        replace_text(rung_dir / MEDIA_PLAYLIST, text)
        fresh = sorted(_listed(text) - _listed(previous))
        for uri in fresh:
            newly.setdefault(uri, {})[rung.name] = now
        if spool is not None and text != previous:
            prefix = f"live/{camera_dir.name}/{rung.name}"
            for uri in fresh:
                spool.put(f"{prefix}/{uri}", rung_dir / uri)
            spool.put(f"{prefix}/{MEDIA_PLAYLIST}", rung_dir / MEDIA_PLAYLIST)
    master = camera_dir / MASTER_PLAYLIST
    before = _read(master)
    _write_master(camera_dir, plan, settings)
    if spool is not None and master.exists() and _read(master) != before:
        spool.put(f"live/{camera_dir.name}/{MASTER_PLAYLIST}", master)
    return newly


_SKIPPED = ".skipped"


def mark_skipped(work: SegmentWork, plan: LadderPlan) -> None:
    """Leave a mark in each encoded rung, so the playlists show the gap at once."""
    for rung in plan.encoded:
        rung_dir = work.camera_dir / rung.name
        rung_dir.mkdir(parents=True, exist_ok=True)
        (rung_dir / f".{work.segment}{_SKIPPED}").touch()


def _write_master(camera_dir: Path, plan: LadderPlan, settings: WorkerSettings) -> None:
    renditions: list[Rendition] = []
    for rung in plan.rungs:
        folder = SOURCE_DIR if rung.copy else rung.name
        described = describe_rendition(folder, camera_dir / folder, settings)
        if described is None:
            return  # the master appears once every rung has a segment
        renditions.append(described)
    write_master_playlist(camera_dir, renditions)


def _listed(text: str) -> set[str]:
    lines = text.splitlines()
    return {
        line
        for index, line in enumerate(lines)
        if line and not line.startswith("#") and lines[index - 1] != "#EXT-X-GAP"
    }


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def camera_lock(client: redis.Redis, camera_id: str, ttl_s: float = 10.0) -> Iterator[None]:
    """Playlists of one camera are rendered by one process at a time, so that a slower
    render can never put back a view older than the one a faster render wrote."""
    key = f"sparc:render:{camera_id}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + ttl_s
    while not client.set(key, token, nx=True, px=int(ttl_s * 1000)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the render lock of camera {camera_id} stayed taken")
        time.sleep(0.02)
    try:
        yield
    finally:
        if client.get(key) == token.encode():
            client.delete(key)
