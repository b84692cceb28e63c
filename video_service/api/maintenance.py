"""The database's upkeep, run by the API: event partitions created ahead of need and dropped
when their month is past retention (PostgreSQL), or aged-out events deleted in batches
(SQLite). Each process may run it; the schema lock makes them take turns."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from video_service.api import partitions
from video_service.api.db import schema_lock

log = logging.getLogger(__name__)
EVERY_S = 3600.0


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
