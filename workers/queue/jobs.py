"""Job records in Redis: what was asked, how far it got, and who holds it now.

Tasks take a job id, not the job: the spec, the status a user follows (state, percent,
speed, attempts, error) and the lease that stops two workers running one job at once all
live here, keyed `sparc:job:{id}`.
"""

import json
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum

import redis
from pydantic import BaseModel

from workers.base import redis_keys
from workers.base.leases import Lease
from workers.queue.errors import UnknownJob

_TTL_S = 7 * 24 * 3600


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


@dataclass(frozen=True)
class JobSpec:
    input: str
    outdir: str
    score: int = 0


class JobStatus(BaseModel, frozen=True):
    job_id: str
    state: JobState
    percent: float | None = None
    speed: float | None = None
    attempts: list[float] = []
    error: str | None = None
    error_kind: str | None = None
    queue: str | None = None
    worker: str | None = None
    master: str | None = None


class JobStore:
    def __init__(self, client: redis.Redis, ttl_s: int = _TTL_S) -> None:
        self._redis = client
        self._ttl_s = ttl_s

    def create(self, spec: JobSpec) -> str:
        job_id = uuid.uuid4().hex
        key = redis_keys.job(job_id)
        with self._redis.pipeline() as pipe:
            pipe.hset(key, mapping={"spec": json.dumps(asdict(spec)), "state": JobState.QUEUED})
            pipe.expire(key, self._ttl_s)
            pipe.execute()
        return job_id

    def spec(self, job_id: str) -> JobSpec:
        raw = self._redis.hget(redis_keys.job(job_id), "spec")
        if raw is None:
            raise UnknownJob(f"no job {job_id}")
        return JobSpec(**json.loads(raw))

    def update(self, job_id: str, **fields: object) -> None:
        encoded: dict[str | bytes, str] = {
            name: json.dumps(value) for name, value in fields.items() if name != "state"
        }
        if "state" in fields:
            encoded["state"] = str(fields["state"])
        self._redis.hset(redis_keys.job(job_id), mapping=encoded)  # type: ignore[arg-type]

    def record_attempt(self, job_id: str, at: float) -> int:
        attempts = self._redis.rpush(redis_keys.job_attempts(job_id), at)
        self._redis.expire(redis_keys.job_attempts(job_id), self._ttl_s)
        return int(attempts)

    def status(self, job_id: str) -> JobStatus:
        raw = self._redis.hgetall(redis_keys.job(job_id))
        if not raw:
            raise UnknownJob(f"no job {job_id}")
        fields = {_text(k): _text(v) for k, v in raw.items()}
        attempts = [float(a) for a in self._redis.lrange(redis_keys.job_attempts(job_id), 0, -1)]
        values = {name: json.loads(value) for name, value in fields.items() if name in _JSON}
        return JobStatus(
            job_id=job_id, state=JobState(fields["state"]), attempts=attempts, **values
        )

    def mark_running(self, job_id: str, at: float) -> None:
        self._redis.zadd(redis_keys.JOBS_RUNNING, {job_id: at})

    def mark_stopped(self, job_id: str) -> None:
        self._redis.zrem(redis_keys.JOBS_RUNNING, job_id)

    def orphans(self) -> list[str]:
        """Jobs said to be running whose lease has lapsed: their worker is gone (a worker
        renews its lease every third of its time to live while it runs the job)."""
        members: list[bytes] = self._redis.zrange(redis_keys.JOBS_RUNNING, 0, -1)  # type: ignore[assignment]
        running = [_text(j) for j in members]
        if not running:
            return []
        leases = self._redis.mget([redis_keys.job_lease(j) for j in running])
        return [job for job, lease in zip(running, leases, strict=True) if lease is None]

    def claim_requeue(self, job_id: str, ttl_s: int) -> bool:
        """Whether this caller is the one to requeue the orphaned job (for `ttl_s`)."""
        return bool(self._redis.set(redis_keys.job_requeued(job_id), "1", nx=True, ex=ttl_s))

    def lease(self, job_id: str, holder: str, ttl_s: int) -> Lease:
        """Who runs the job now (a redelivery while its first worker lives must wait)."""
        return Lease(self._redis, redis_keys.job_lease(job_id), ttl_s, holder)


_JSON = frozenset({"percent", "speed", "error", "error_kind", "queue", "worker", "master"})


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
