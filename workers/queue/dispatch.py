"""Submit a job: record it, pick the pool that is alive, and queue it at its priority; and
queue again a job whose worker died while it ran."""

import logging

import redis

from workers.queue.celery_app import SEGMENT_TASK, TRANSCODE_TASK, SparcCelery, broker_transport
from workers.queue.jobs import JobSpec, JobState, JobStore
from workers.queue.pools import Pool, choose_pool
from workers.queue.priority import broker_priority
from workers.queue.queues import queued_headers

log = logging.getLogger(__name__)


def submit_job(
    app: SparcCelery, client: redis.Redis, spec: JobSpec, pool: Pool | None = None
) -> str:
    store = JobStore(client)
    job_id = store.create(spec)
    _queue(app, client, store, job_id, spec, pool)
    return job_id


def requeue_orphans(app: SparcCelery, client: redis.Redis, claim_s: int) -> list[str]:
    """Queue again, once, each job whose worker died while it ran (its lease lapsed). On
    Redis a message taken by a worker that died comes back only after the broker's
    visibility timeout (an hour); this is the minute instead. A late copy finds the job
    done, or held, and does nothing."""
    store = JobStore(client)
    requeued = []
    for job_id in store.orphans():
        if not store.claim_requeue(job_id, claim_s):
            continue
        store.mark_stopped(job_id)
        store.update(job_id, state=JobState.QUEUED)
        _queue(app, client, store, job_id, store.spec(job_id), None)
        log.warning("job %s lost its worker: queued again", job_id)
        requeued.append(job_id)
    return requeued


def _queue(
    app: SparcCelery,
    client: redis.Redis,
    store: JobStore,
    job_id: str,
    spec: JobSpec,
    pool: Pool | None,
) -> None:
    chosen = pool or choose_pool(client)
    store.update(job_id, queue=chosen.queue)
    priority = broker_priority(spec.score, broker_transport(app.conf.broker_url))
    app.send_task(TRANSCODE_TASK, args=(job_id,), queue=chosen.queue, priority=priority,
                  headers=queued_headers())  # fmt: skip


def submit_segment(
    app: SparcCelery,
    client: redis.Redis,
    camera_id: str,
    segment: str,
    closed_at: float,
    score: int,
) -> str:
    """Queue one live source segment for the lower rungs, at the camera's score."""
    pool = choose_pool(client)
    priority = broker_priority(score, broker_transport(app.conf.broker_url))
    result = app.send_task(
        SEGMENT_TASK,
        args=(camera_id, segment, closed_at),
        queue=pool.queue,
        priority=priority,
        headers=queued_headers(),
    )
    return str(result.id)
