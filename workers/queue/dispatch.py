"""Submit a job: record it, pick the pool that is alive, and queue it at its priority."""

import redis

from workers.queue.celery_app import SEGMENT_TASK, TRANSCODE_TASK, SparcCelery, broker_transport
from workers.queue.jobs import JobSpec, JobStore
from workers.queue.pools import Pool, choose_pool
from workers.queue.priority import broker_priority
from workers.queue.queues import queued_headers


def submit_job(
    app: SparcCelery, client: redis.Redis, spec: JobSpec, pool: Pool | None = None
) -> str:
    store = JobStore(client)
    chosen = pool or choose_pool(client)
    job_id = store.create(spec)
    store.update(job_id, queue=chosen.queue)
    priority = broker_priority(spec.score, broker_transport(app.conf.broker_url))
    app.send_task(TRANSCODE_TASK, args=(job_id,), queue=chosen.queue, priority=priority,
                  headers=queued_headers())  # fmt: skip
    return job_id


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
