"""Errors of the control plane, and the one place where any error becomes an HTTP answer:
FastAPI's routes, the playback fast path and the origin all answer through `error_response`.

ApiError                base: status and message
├── NotAuthenticated    401: no key, or a key we do not know
├── Forbidden           403: the key may not do this (another site, admin only)
├── NotFound            404: no such id
├── MethodNotAllowed    405: the path exists, the method does not
├── Conflict            409: the request contradicts what exists (a site with cameras)
├── Unprocessable       422: the request is well-formed but cannot be done as asked
└── ServiceUnavailable  503: a service we depend on is not there (Redis, storage)

Errors of the rooms below, as they reach us:
  delivery.errors.MediaNotFound         404
  delivery.errors.AccessDenied          403
  cdn.errors.TokenRejected              403 (forged, expired, another stream's token)
  cdn.errors.NoEligibleProvider         503 (no CDN serves the viewer's region)
  workers.errors.StorageUnavailable     503
FastAPI's RequestValidationError keeps FastAPI's own 422 answer.
"""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from cdn.errors import NoEligibleProvider, TokenRejected
from video_service.delivery.errors import AccessDenied, MediaNotFound
from workers.errors import StorageUnavailable


class ApiError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    status = 503


_STATUS: dict[type[Exception], int] = {
    MediaNotFound: 404,
    AccessDenied: 403,
    TokenRejected: 403,
    NoEligibleProvider: 503,
    StorageUnavailable: 503,
}
# Every error class `error_response` answers for (their subclasses too).
MAPPED: tuple[type[Exception], ...] = (ApiError, *_STATUS)


def error_response(error: Exception) -> JSONResponse:
    if isinstance(error, ApiError):
        status, message = error.status, error.message
    else:
        status = next(code for kind, code in _STATUS.items() if isinstance(error, kind))
        message = str(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 405:
        headers = {"Allow": "GET, HEAD"}
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def validation_response(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's own 422 answer, for the paths served before FastAPI's routing."""
    return await request_validation_exception_handler(request, error)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, error: Exception) -> JSONResponse:
        return error_response(error)

    for kind in MAPPED:
        app.add_exception_handler(kind, handle)
