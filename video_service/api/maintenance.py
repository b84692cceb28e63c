"""The database's upkeep, run by the API: at start, data an older version left is brought up
to date and the bootstrap admin key installed (`prepare_database`); then event partitions
are created ahead of need and dropped when their month is past retention (PostgreSQL), or
aged-out events deleted in batches (SQLite). Each process may run it; the schema lock makes
them take turns."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from video_service.api import partitions
from video_service.api.db import create_database, engine_of, schema_lock, session_scope
from video_service.api.keys import ensure_key
from video_service.api.pull_credentials import seal_clear_credentials
from video_service.api.settings import ApiSettings
from workers.base.secrets import secret_box

log = logging.getLogger(__name__)
EVERY_S = 3600.0
REVOKED_ADMIN_KEY = ("SPARC_ADMIN_KEY was revoked: not installed again (set a new one, or "
                     "make one with `sparc-video keys create --admin`)")  # fmt: skip


def prepare_database(settings: ApiSettings) -> None:
    """Before serving: credentials stored in clear by an older version are sealed, and the
    bootstrap admin key (`SPARC_ADMIN_KEY`) is installed unless it was revoked."""
    sessions = create_database(settings.database_url, pool_size=1)
    try:
        seal_clear_credentials(sessions, secret_box(settings))
        if settings.admin_key is not None:
            # Several server processes start at once; the first to install the key wins.
            with contextlib.suppress(IntegrityError), session_scope(sessions) as session:
                key = settings.admin_key.get_secret_value()
                if not ensure_key(session, key, "SPARC_ADMIN_KEY"):
                    log.warning(REVOKED_ADMIN_KEY)
    finally:
        engine_of(sessions).dispose()


def maintain_events(engine: Engine, *, retention_days: int, now: datetime) -> list[str]:
    """One round; what it did, for the log."""
    cutoff = now - timedelta(days=retention_days)
    with engine.connect() as connection, schema_lock(connection):
        if connection.dialect.name != "postgresql":
            deleted = partitions.delete_before_sqlite(connection, cutoff)
            return [f"deleted {deleted} events"] if deleted else []
        created = partitions.ensure_ahead(connection, now=now, retention_days=retention_days)
        dropped = partitions.drop_before(connection, cutoff)
        connection.commit()
    return [f"created {name}" for name in created] + [f"dropped {name}" for name in dropped]


async def maintain_forever(engine: Engine, retention_days: int) -> None:
    while True:
        try:
            done = await run_in_threadpool(
                maintain_events, engine, retention_days=retention_days, now=datetime.now(UTC)
            )
        except (SQLAlchemyError, OSError) as error:
            log.warning("event upkeep failed: %s; trying again in an hour", error)
        else:
            for line in done:
                log.info("events: %s", line)
        await asyncio.sleep(EVERY_S)
