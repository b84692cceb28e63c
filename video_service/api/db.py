"""The database: an engine per URL, sessions from it, and the schema brought to the head
migration on start.

Migrating is safe when several processes start at once (`serve --workers N` and `edge`
together): each takes the schema lock first (PostgreSQL: an advisory lock; SQLite: a lock
file beside the database), and a database made before migrations existed (tables, no
`alembic_version`) is stamped as revision 0001 and upgraded from there."""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

# FastAPI runs sync routes on a pool of threads, one connection each (see `api.app`): a
# request holds at most one, and never waits for one.
POOL_SIZE = 40
POOL = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": 30}
MIGRATIONS = "video_service.api:migrations"
_LOCK_ID = 0x5350_4152_4356  # "SPARCV": the advisory lock of schema changes


def create_database(url: str, *, pool_size: int = POOL_SIZE) -> "sessionmaker[Session]":
    pool = {**POOL, "pool_size": pool_size}
    if url.startswith("sqlite:///"):
        _private_file(Path(url.removeprefix("sqlite:///")))
        # A writer waits up to 30 s for SQLite's lock instead of failing at once.
        arguments = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, connect_args=arguments, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **pool)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the head revision, whoever else is starting."""
    with engine.connect() as connection, schema_lock(connection):
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        if connection.dialect.name == "sqlite":
            # Persistent in the file; set here, under the lock, because changing it needs the
            # database to itself (a second process starting would get "database is locked").
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        tables = set(inspect(connection).get_table_names())
        if "sites" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")  # made by create_all before migrations existed
        command.upgrade(config, "head")
        connection.commit()


@contextlib.contextmanager
def schema_lock(connection: Connection) -> Iterator[None]:
    """One process at a time changes the schema (or the event partitions)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
            connection.commit()
        return
    database = connection.engine.url.database
    lock_path = Path(f"{database}.lock") if database else None
    if lock_path is None:
        yield
        return
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _private_file(path: Path) -> None:
    """The database holds secrets (keys' hashes, camera credentials): its directory is the
    owner's alone, and the file is created 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(connection: object, _: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextlib.contextmanager
def session_scope(factory: "sessionmaker[Session]") -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session


def engine_of(factory: "sessionmaker[Session]") -> Engine:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind
