"""State that the API, the edge and delivery share and the workers do not: which edge owns
each camera (`ownership`), the recording index (`recording_index`), and viewer sessions
(`viewer_sessions`).

May import `workers` and `cdn`; never another room of `video_service`.
"""
