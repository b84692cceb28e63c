"""The web player: a static page, its script, and hls.js from the player's npm packages."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from video_service.api.errors import ServiceUnavailable

router = APIRouter(tags=["player"], include_in_schema=False)
PLAYER = Path(__file__).resolve().parents[2] / "player"
HLS_JS = PLAYER / "node_modules" / "hls.js" / "dist" / "hls.min.js"


@router.get("/player/")
def page() -> FileResponse:
    return FileResponse(PLAYER / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/player/player.js")
def script() -> FileResponse:
    return FileResponse(PLAYER / "player.js", media_type="text/javascript")


@router.get("/player/hls.min.js")
def hls_js() -> FileResponse:
    if not HLS_JS.exists():
        raise ServiceUnavailable(f"hls.js is not installed: run `npm ci` in {PLAYER}")
    return FileResponse(HLS_JS, media_type="text/javascript")
