"""The ladder engine: from a source to the rungs of its ladder, with FFmpeg.

What may be read (`inputs`) and what it holds (`probe`), the plan (`ladder`, with
`h264_levels`), the pure FFmpeg builders with their global arguments defined once
(`commands`), playlists and the planned master (`playlists`, `master`), where a file's
ladder is written (`outputs`), the file job (`file_job`), the live ladder's segment job and
its driver (`segment_job`, `live_ladder`), and the hardware probes (`hardware`). Errors in
`errors`.

Imports `workers.base` only; everything here runs without Celery.
"""
