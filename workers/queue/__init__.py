"""The workers' queue: the Celery app (`celery_app`) and its thin tasks (`tasks`), the job
records (`jobs`) and their runner (`job_runner`), submission (`dispatch`), the pools and
their heartbeats (`pools`), what waits on the broker (`queues`), viewer score to broker
priority (`priority`), and what the pools did and need (`activity`, `capacity`). Errors in
`errors`.

Imports `workers.base` and `workers.engine`.
"""
