"""Errors of the control plane, and the one place where any error becomes an HTTP answer:
FastAPI's routes, the playback fast path and the origin all answer through `error_response`.

ApiError                base: status and message
├── NotAuthenticated    401: no key, or a key we do not know
├── Forbidden           403: the key may not do this (another site, admin only)
├── NotFound            404: no such id
│   └── NotFoundRetry   404 with Retry-After: not there yet, soon (a first still picture)
├── MethodNotAllowed    405: the path exists, the method does not
├── Conflict            409: the request contradicts what exists (a site with cameras)
├── TooLarge            413: a body over the route's limit
├── Unprocessable       422: the request is well-formed but cannot be done as asked; in
│                       FastAPI's own shape (a list of {loc, msg, type}), so that every
│                       422 reads alike
├── TooManyRequests     429: the caller holds as many of something as it may (streams)
└── ServiceUnavailable  503: a service we depend on is not there (Redis, storage), or this
                        node has as many of something as it takes
UnknownSites            a key asked for sites that do not exist: the route's 422, the CLI's
                        message

Errors of the rooms below, as they reach us:
  delivery.errors.MediaNotFound         404
  delivery.errors.AccessDenied          403
  delivery.errors.NothingRecorded       404 (nothing recorded in a range, or past retention)
  delivery.errors.ExportFailed          503 (no room on this node, FFmpeg refused a segment)
  cdn.errors.TokenRejected              403 (forged, expired, another stream's token)
  cdn.errors.NoEligibleProvider         503 (no CDN serves the viewer's region)
  workers.base.errors.StorageUnavailable  503
  redis.RedisError                      503 (Redis unreachable: viewer sessions, the cache)
  kombu's OperationalError              503 (the broker unreachable: the pools view)
  sqlalchemy's OperationalError         503 (the database unreachable, or its disk full)
  sqlalchemy's DataError                422 (a value it cannot store: a NUL on PostgreSQL)
FastAPI's RequestValidationError keeps FastAPI's 422 answer, with each rejected input cut
to `MAX_ECHO` characters (a 10 MB field is not sent back whole).
"""

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from kombu.exceptions import OperationalError as BrokerUnavailable
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError
from sqlalchemy.exc import OperationalError as DatabaseUnavailable

from cdn.errors import NoEligibleProvider, TokenRejected
from video_service.delivery.errors import AccessDenied, ExportFailed, MediaNotFound, NothingRecorded
from workers.base.errors import StorageUnavailable


class ApiError(Exception):
    status = 400
    retry_after_s: int | None = None  # said as Retry-After where set

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class NotFoundRetry(NotFound):
    """Not there yet, and soon: a camera's first still picture."""

    retry_after_s = 2


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422

    def __init__(self, message: str, loc: Sequence[str | int] = ("body",)) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


class TooManyRequests(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503


_STATUS: dict[type[Exception], int] = {
    MediaNotFound: 404,
    NothingRecorded: 404,
    ExportFailed: 503,
    AccessDenied: 403,
    TokenRejected: 403,
    NoEligibleProvider: 503,
    StorageUnavailable: 503,
    RedisError: 503,
    BrokerUnavailable: 503,
    DatabaseUnavailable: 503,
    DataError: 422,
}
# Every error class `error_response` answers for (their subclasses too).
MAPPED: tuple[type[Exception], ...] = (ApiError, *_STATUS)


MAX_ECHO = 200


class ErrorPublic(BaseModel):
    detail: str


# Documented on every API route, beside its own answers and FastAPI's 422.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in (
        (400, "the body is not JSON"),
        (401, "no API key, or one we do not know"),
        (403, "the key may not do this"),
        (404, "no such id"),
        (405, "no such method here"),
        (409, "it contradicts what exists"),
        (413, "the body is too large"),
        (503, "a service the API depends on is not there"),
    )
}


class AsciiJSONResponse(JSONResponse):
    """An error answer echoes what a client sent: written as ASCII JSON, so that a lone
    surrogate in it is escaped (`\\udfff`), not a failure to encode the answer."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode()  # fmt: skip


def error_response(error: Exception) -> JSONResponse:
    if isinstance(error, Unprocessable):
        problem = {"type": "value_error", "loc": list(error.loc), "msg": error.message}
        return AsciiJSONResponse({"detail": [problem]}, status_code=422)
    if isinstance(error, ApiError):
        status, message = error.status, error.message
    else:
        status = next(code for kind, code in _STATUS.items() if isinstance(error, kind))
        message = _said(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 405:
        headers = {"Allow": "GET, HEAD"}
    if isinstance(error, ApiError) and error.retry_after_s is not None:
        headers = {"Retry-After": str(error.retry_after_s)}
    return AsciiJSONResponse({"detail": message}, status_code=status, headers=headers)


async def validation_response(_: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422 answer, each rejected input cut short (for the routes, and for the
    paths served before FastAPI's routing)."""
    problems = [{**problem, "input": _echo(problem.get("input"))} for problem in error.errors()]
    return AsciiJSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)


def _said(error: Exception) -> str:
    """What an answer says of an error of a room below or of a library (never its SQL)."""
    if isinstance(error, RedisError):
        return f"Redis is unavailable: {error}"
    if isinstance(error, BrokerUnavailable):
        return "the broker is unavailable"
    if isinstance(error, DataError):
        return "a value the database cannot store (a NUL character, a number out of range)"
    if isinstance(error, DatabaseUnavailable):
        full = "full" in str(error.orig).lower()
        return "the database's disk is full" if full else "the database is unavailable"
    return str(error)


def _echo(value: object) -> object:
    """What a 422 sends back of a rejected input: short values as they are."""
    if isinstance(value, str | bytes) and len(value) > MAX_ECHO:
        return f"{value[:MAX_ECHO]!r}... ({len(value)} long)"
    if isinstance(value, dict | list) and len(repr(value)) > MAX_ECHO:
        return f"{type(value).__name__} of {len(value)} items"
    return value


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, error: Exception) -> JSONResponse:
        return error_response(error)

    for kind in MAPPED:
        app.add_exception_handler(kind, handle)
    app.add_exception_handler(RequestValidationError, validation_response)  # type: ignore[arg-type]


class UnknownSites(ValueError):
    pass
