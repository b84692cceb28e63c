"""Delivery: how a viewer gets the video.

Holds what a playback request needs (`playback.Delivery`: the CDN providers, the selector,
their signers, the store the media is served from), the embedded origin that serves the
media with its own tokens (`origin`), viewer sessions opened in groups (`sessions`), and a
small TTL cache (`caches`). Its errors (`errors`) are mapped to HTTP by the API.

May import `workers` (the shared base: settings, media layout, storage, Redis) and `cdn`;
never `video_service.api` or `video_service.edge`.
"""
