"""The edge: where a camera's stream comes in and is recorded.

`server.Edge` coordinates it: the RTSP port up to an accepted publisher (`rtsp_door`, with
`rtsp` for the protocol, `auth`/`digest` and `refusals` for who may publish), the cameras
publishing now (`publishers`, one `publisher.PublishSession` each: its own FFmpeg recorder
(`recorder`), the bytes relayed (`relay`)), pull cameras (`pull`, `pull_urls`,
`pull_relay`), each camera's segment watcher and the ladder scheduler (`watcher`,
`scheduler`), the cameras' ownership leases (`camera_leases`) and this edge's share of the
pull cameras (`membership`), a camera another edge recorded continued from the bucket
(`takeover`), the disabled-camera guard (`guard`), the disk guard (`disk`), retention
(`retention`), live view over WebRTC (`live_view/`), and its metrics (`metrics`). Errors in
`errors`.

May import `video_service.shared`, `workers` and `cdn`; never `video_service.api` or
`video_service.delivery`: what the edge needs of the control plane's records it asks through
the interfaces it defines (`directory.CameraDirectory`, `events.EventSink`), which the API
implements (`api.edge_adapters`) and the CLI wires in.
"""
