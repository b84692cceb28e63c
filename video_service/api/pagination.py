"""Keyset (cursor) pagination: a page ends with `next`, an opaque cursor naming the last row
it held; `?after=<cursor>` asks for the rows beyond it. Stable while rows are inserted or
deleted (nothing skipped, nothing twice), and each page costs an index range scan, however
deep: unlike an offset, which reads and throws away every row before it."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request

from video_service.api.errors import Unprocessable

_AFTER = ("query", "after")
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
After = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="the `next` of a page"),
]


def refuse_offset(request: Request) -> None:
    """`offset` is gone: a client still sending it would silently get the first page."""
    if "offset" in request.query_params:
        raise Unprocessable(
            "offset is not supported: follow `next` with ?after=<next>", ("query", "offset")
        )


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unprocessable("not a cursor this API gave", _AFTER) from None
    parts = text.split("|")
    if len(parts) != count:
        raise Unprocessable("not a cursor this API gave", _AFTER)
    return parts


def created_cursor(created_at: datetime, row_id: str) -> str:
    """For rows listed oldest first by (created_at, id)."""
    return encode_cursor(created_at.isoformat(), row_id)


def parse_created_cursor(cursor: str) -> tuple[datetime, str]:
    stamp, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(stamp), row_id
    except ValueError:
        raise Unprocessable("not a cursor this API gave", _AFTER) from None


def id_cursor(row_id: int) -> str:
    return encode_cursor(str(row_id))


def parse_id_cursor(cursor: str) -> int:
    (text,) = decode_cursor(cursor, 1)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Unprocessable("not a cursor this API gave", _AFTER)
    return int(text)
