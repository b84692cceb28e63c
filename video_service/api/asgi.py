"""The ASGI entry point for `sparc-video serve --workers N` and for other ASGI servers:
`uvicorn --factory video_service.asgi:create_from_environment`."""

from fastapi import FastAPI

from video_service.api.app import create_app
from video_service.api.live import build_live_services
from video_service.api.settings import ApiSettings


def create_from_environment() -> FastAPI:
    settings = ApiSettings()
    return create_app(settings, live=lambda sessions: build_live_services(sessions, settings))
