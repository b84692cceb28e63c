"""The database: an engine per URL, sessions from it, tables created on start."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.models import Base

# FastAPI runs sync routes on a pool of 40 threads: one connection for each, so that a burst
# of requests waits on the database rather than on the connection pool (which gave 500s).
POOL = {"pool_size": 40, "max_overflow": 0, "pool_timeout": 60}


def create_database(url: str) -> "sessionmaker[Session]":
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A writer waits up to 30 s for SQLite's lock instead of failing at once.
        arguments = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, connect_args=arguments, **POOL)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **POOL)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(connection: object, _: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@contextmanager
def session_scope(factory: "sessionmaker[Session]") -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session


def engine_of(factory: "sessionmaker[Session]") -> Engine:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind
