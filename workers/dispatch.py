"""Submit a job: record it, pick the pool that is alive, and queue it at its priority."""

import redis

from workers.celery_app import TRANSCODE_TASK, SparcCelery, broker_transport
from workers.jobs import JobSpec, JobStore
from workers.pools import Pool, choose_pool
from workers.priority import broker_priority


def submit_job(
    app: SparcCelery, client: redis.Redis, spec: JobSpec, pool: Pool | None = None
) -> str:
    store = JobStore(client)
    chosen = pool or choose_pool(client)
    job_id = store.create(spec)
    store.update(job_id, queue=chosen.queue)
    priority = broker_priority(spec.score, broker_transport(app.conf.broker_url))
    app.send_task(TRANSCODE_TASK, args=(job_id,), queue=chosen.queue, priority=priority)
    return job_id
