"""Serve a ladder directory over HTTP with HLS media types and cache headers.

The embedded origin of the demo until the FastAPI origin with signed tokens takes over:
segments are immutable and cached long, playlists short.
"""

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


class _LadderHandler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return _TYPES.get(Path(path).suffix) or super().guess_type(path)

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        if self.path.endswith(".ts"):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        elif self.path.endswith(".m3u8"):
            self.send_header("Cache-Control", "public, max-age=1")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints what matters; per-request lines would drown it


def start_origin(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = functools.partial(_LadderHandler, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="sparc-origin", daemon=True).start()
    return server
