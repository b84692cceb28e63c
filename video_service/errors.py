"""Errors of the control plane, and their HTTP mapping in one place.

ApiError            base: status and message
├── NotAuthenticated    401: no key, or a key we do not know
├── Forbidden           403: the key may not do this (another site, admin only)
├── NotFound            404: no such id
└── Conflict            409: the request contradicts what exists (a site with cameras)
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    status = 503


def error_response(error: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    return JSONResponse({"detail": error.message}, status_code=error.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error)

    app.add_exception_handler(ApiError, handle)
