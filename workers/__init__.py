"""The ladder side of SPARC Video, in three rooms, each importing only the ones before it:

- `base/`: the shared base every process stands on (the API, the edge, the workers):
  settings, the media layout, storage and the upload spool, the process runner, errors,
  metrics, leases, notices, free ports, the embedded Redis server, sealed secrets, the Redis
  client factory and the name of every Redis key. Imports nothing of ours.
- `engine/`: the ladder engine: input rules, probes, the ladder plan, H.264 levels, the pure
  FFmpeg builders, playlists and the planned master, the file job and the live segment job,
  hardware probes. Imports `workers.base`.
- `queue/`: the Celery app and its thin tasks, dispatch, job records, pools, queues,
  priority, the pools' activity and capacity. Imports `workers.base` and `workers.engine`.

Nothing under `workers` imports `video_service` or `cdn` (import-linter checks these rules in
CI: `[tool.importlinter]` in pyproject.toml).
"""
