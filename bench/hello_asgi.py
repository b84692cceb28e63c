"""The smallest ASGI app: the playback bench's baseline for what uvicorn itself answers on
this machine (its rate, and its tail at 1,000 connections), measured in the same run."""

from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})
