"""The control API: the FastAPI app (`app`), its routes (`routes/`), shared dependencies
(`deps`), request and response models (`schemas`), records and the database (`models`,
`db`), API keys (`keys`, `security`, `auth`), events (`events`), the per-process caches of
the playback path (`lookups`), the one mapping of errors to HTTP (`errors`), the server
processes (`serving`, `asgi`), and the database side of the edge's interfaces (`directory`).

May import the domain rooms (`video_service.edge`, `video_service.delivery`), `workers` and
`cdn`. Nothing below imports it.
"""
