"""The control API: the FastAPI app built in `app` (its typed state, built once per process,
in `state`; the paths players hit most served ahead of FastAPI's routing in `hot_paths`,
each declared once in `paths`), its routes (`routes/`), shared dependencies (`deps`),
request and response models (`schemas`), records and the database (`models`, `db`,
`migrations/`, `partitions`, upkeep and start-up preparation in `maintenance`), API keys
(`keys`, `security`, `auth`), events (`events`, `event_stream`), the per-process caches of
the playback path (`lookups`), the shared response cache (`response_cache`), the one mapping
of errors to HTTP (`errors`), metrics (`metrics`), the server processes (`serving`, `asgi`),
and the database side of what the edge and delivery need: the edge's directory and event
sink (`edge_adapters`), pull cameras' sealed credentials (`pull_credentials`), and the
recording index's rows (`recording_store`).

May import the other rooms (`video_service.edge`, `video_service.delivery`,
`video_service.shared`), `workers` and `cdn`. Nothing below imports it.
"""
