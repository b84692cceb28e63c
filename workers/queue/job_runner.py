"""Run one job from its record: hold its lease, run the transcode, record what happened.

Safe to run twice: a job already done returns at once, and a job another worker holds is
left to it (`LeaseHeld`), so a broker redelivery never runs one job twice at the same time.
A job running is listed (`JobStore.mark_running`) while its lease is held: one listed whose
lease lapsed lost its worker, and is queued again by the live workers
(`dispatch.requeue_orphans`).
"""

import time
import uuid
from pathlib import Path

from workers.base.errors import TransientError
from workers.base.settings import WorkerSettings
from workers.engine.commands import Accel
from workers.engine.file_job import Report, run_transcode
from workers.queue.errors import LeaseHeld
from workers.queue.jobs import JobSpec, JobState, JobStatus, JobStore


def execute_job(
    store: JobStore,
    job_id: str,
    settings: WorkerSettings,
    *,
    accel: Accel,
    worker: str,
    final_attempt: bool,
) -> JobStatus:
    spec = store.spec(job_id)
    if store.status(job_id).state is JobState.DONE:
        return store.status(job_id)
    lease = store.lease(job_id, f"{worker}/{uuid.uuid4().hex[:8]}", settings.lease_s)
    if not lease.acquire():
        raise LeaseHeld(job_id)
    with lease.held():
        store.record_attempt(job_id, time.time())
        store.update(job_id, state=JobState.RUNNING, worker=worker, percent=0.0, error=None)
        store.mark_running(job_id, time.time())
        try:
            return _run(store, job_id, spec, settings, accel=accel, final_attempt=final_attempt)
        finally:
            store.mark_stopped(job_id)


def _run(
    store: JobStore,
    job_id: str,
    spec: JobSpec,
    settings: WorkerSettings,
    *,
    accel: Accel,
    final_attempt: bool,
) -> JobStatus:
    def report(progress: Report) -> None:
        store.update(job_id, percent=progress.percent, speed=progress.speed)

    try:
        result = run_transcode(
            spec.input, Path(spec.outdir), settings, accel=accel, on_report=report
        )
    except TransientError as error:
        state = JobState.FAILED if final_attempt else JobState.RETRYING
        _record_failure(store, job_id, state, error)
        raise
    except Exception as error:  # bad input, FFmpeg, or a bug: recorded, then raised
        _record_failure(store, job_id, JobState.FAILED, error)
        raise
    store.update(job_id, state=JobState.DONE, percent=100.0, master=str(result.master))
    return store.status(job_id)


def _record_failure(store: JobStore, job_id: str, state: JobState, error: Exception) -> None:
    store.update(job_id, state=state, error=str(error), error_kind=type(error).__name__)
