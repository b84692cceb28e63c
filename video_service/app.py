"""Build the FastAPI app: the control plane's routes, its error mapping, its database."""

from fastapi import FastAPI

from video_service.api.routes import cameras, events, keys, sites
from video_service.db import create_database, session_scope
from video_service.errors import install_error_handlers
from video_service.keys import ensure_key
from video_service.settings import ApiSettings


def create_app(settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="SPARC Video",
        summary="Cameras, sites, keys and events of the SPARC Video pipeline",
        version="0.1.0",
    )
    sessions = create_database(settings.resolved_database_url)
    if settings.admin_key is not None:
        with session_scope(sessions) as session:
            ensure_key(session, settings.admin_key.get_secret_value(), "SPARC_ADMIN_KEY")
    app.state.settings = settings
    app.state.sessions = sessions
    install_error_handlers(app)
    for module in (sites, cameras, events, keys):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
