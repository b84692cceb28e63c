"""Delivery: how a viewer gets the video.

`playback.Delivery` holds what a playback request needs (the CDN providers, the selector,
their signers, the store the media is served from, the recording index); the embedded origin
serves the media with its own tokens (`origin`); recorded ranges become VOD playlists and
MP4 exports (`recorded_ranges`, `export`); viewer sessions are opened in groups (`sessions`,
`batching`); the CDNs' health is shared between API nodes (`cdn_health`). Errors in
`errors`, mapped to HTTP by the API.

May import `video_service.shared`, `workers` and `cdn`; never `video_service.api` or
`video_service.edge`.
"""
