"""The edge: where a camera's stream comes in and is recorded.

Holds the RTSP server (`server.Edge`: a path per camera, Digest/Basic against the camera's
HA1, the publisher handed to its own FFmpeg recorder and relayed byte for byte), pull cameras
(`pull`), the recorder's command (`recorder`), the segment watcher that hands each recorded
segment to storage and to the ladder scheduler (`watcher`, `scheduler`), the guard that cuts
off a camera disabled while it publishes (`guard`), and retention (`retention`).

May import `workers` (the shared base: settings, media layout, storage, process runner,
Redis, Celery) and `cdn`; never `video_service.api`: what the edge needs of the control
plane's records it asks through the interfaces it defines (`directory.CameraDirectory`,
`events.EventSink`), which the API implements and the CLI wires in.
"""
