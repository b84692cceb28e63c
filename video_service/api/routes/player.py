"""The retired web player's address: the console's camera page took its place.

`/player/?camera=ID` goes to `/cameras/ID`; `/player/` to `/`, where the browser keeps the
old link's fragment (`#camera=ID&at=...`) and the console opens that camera (a key in the
fragment is dropped unread)."""

import re

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter(tags=["player"], include_in_schema=False)

# What a camera id may be in an address we build: anything else goes to the console's start.
_CAMERA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@router.get("/player/")
@router.get("/player")
def page(camera: str | None = None) -> RedirectResponse:
    if camera is not None and _CAMERA_ID.fullmatch(camera):
        return RedirectResponse(f"/cameras/{camera}", status_code=308)
    return RedirectResponse("/", status_code=308)
