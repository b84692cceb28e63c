"""A worker's metrics: one observation per ladder job it ran (its prefork children record
them; `workers.base.metrics` serves them)."""

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Histogram

JOB_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 18.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class LadderMetrics:
    job_duration: Histogram
    jobs: Counter


@cache
def ladder_metrics() -> LadderMetrics:
    return LadderMetrics(
        Histogram("sparc_ladder_job_duration_seconds", "Time a worker spent on a ladder job.",
                  ["pool", "kind"], buckets=JOB_BUCKETS),
        Counter("sparc_ladder_jobs", "Ladder jobs by outcome (done, failed, retried, skipped).",
                ["pool", "kind", "outcome"]),
    )  # fmt: skip
