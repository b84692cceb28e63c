"""State that the API, the edge and delivery share and the workers do not: which edge owns
each camera (`ownership`), the recording index (`recording_index`), and viewer sessions
(`viewer_sessions`); and the one kind of per-process time-to-live cache they all use
(`ttl_cache`).

May import `workers` and `cdn`; never another room of `video_service`.
"""
