"""SPARC Video: cameras push RTSP to the edge (`edge/`), which records them and schedules the
ladder that workers (`workers/`) make for the cameras people watch; viewers get signed
playlists through delivery (`delivery/`, with `cdn/`); the control API (`api/`) manages
sites, cameras, keys and events; `shared/` holds the state those three share. `cli.py` is
the `sparc-video` command and `demo.py` the main job; only they import everything."""
