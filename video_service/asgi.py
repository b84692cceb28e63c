"""The ASGI entry point for `sparc-video serve --workers N` and for other ASGI servers:
`uvicorn --factory video_service.asgi:create_from_environment`."""

from fastapi import FastAPI

from video_service.app import create_app
from video_service.live import build_live_services
from video_service.settings import ApiSettings


def create_from_environment() -> FastAPI:
    return create_app(ApiSettings(), live=build_live_services)
