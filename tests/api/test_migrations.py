"""The schema through Alembic: a database made by the code that shipped before migrations is
upgraded with its rows; processes starting together migrate once; events are partitioned by
month on PostgreSQL, created ahead and dropped by retention, and the list's queries use
their indexes."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from tests.processes import Children
from video_service.api.db import MIGRATIONS, create_database, engine_of, session_scope
from video_service.api.events import EventFilter, build_list_query
from video_service.api.maintenance import maintain_events
from video_service.api.models import Event
from video_service.api.partitions import month_of, next_month, partition_name, partitions


def shipped_schema(url: str) -> None:
    """The database as `create_all` of the code before migrations left it (revision 0001
    is that schema), with no record of any migration."""
    engine = create_engine(url)
    with engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("DROP TABLE alembic_version"))
        connection.commit()
    engine.dispose()


def test_a_database_from_before_migrations_is_upgraded_with_its_rows(database_url: str) -> None:
    shipped_schema(database_url)
    old = datetime.now(UTC) - timedelta(days=40)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sites (id, name, tier, created_at) VALUES ('s1', 'HQ', 2, :at)"
        ), {"at": old})  # fmt: skip
        for n in range(3):
            connection.execute(text(
                "INSERT INTO events (at, type, camera_id, site_id, detail) "
                "VALUES (:at, 'camera_online', 'c1', 's1', '{}')"
            ), {"at": old + timedelta(days=n * 10)})  # fmt: skip
    engine.dispose()
    sessions = create_database(database_url)
    with session_scope(sessions) as session:
        kept = list(session.scalars(select(Event).order_by(Event.id)))
        assert [e.type for e in kept] == ["camera_online"] * 3
        session.add(Event(type="motion.start", camera_id="c1", site_id="s1", detail={}))
        session.flush()
        newest = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
        assert newest is not None and newest > kept[-1].id, "the ids go on"
        version = session.scalar(text("SELECT version_num FROM alembic_version"))
        assert version == "0007"
        if database_url.startswith("postgresql"):
            names = partitions(session.connection())
            assert partition_name(month_of(old)) in names
            assert partition_name(next_month(next_month(month_of(datetime.now(UTC))))) in names
    engine_of(sessions).dispose()


def test_processes_starting_together_on_a_new_database_migrate_once(
    database_url: str, children: Children
) -> None:
    start = (
        "import sys; from video_service.api.db import create_database; create_database(sys.argv[1])"
    )
    runs = [
        children.popen([sys.executable, "-c", start, database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors.decode()
    engine = create_engine(database_url)
    assert {"sites", "cameras", "api_keys", "events"} <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.fixture
def sessions(database_url: str) -> Iterator["sessionmaker[Session]"]:
    made = create_database(database_url)
    yield made
    engine_of(made).dispose()


def test_partitions_are_made_ahead_and_dropped_whole_by_retention(
    sessions: "sessionmaker[Session]",
) -> None:
    now = datetime.now(UTC)
    engine = engine_of(sessions)
    maintain_events(engine, retention_days=365, now=now)  # a year kept: its months made
    with session_scope(sessions) as session:
        for days in (200, 100, 1):
            session.add(Event(type="tick", at=now - timedelta(days=days), detail={}))
    maintain_events(engine, retention_days=150, now=now)
    maintain_events(engine, retention_days=150, now=now)  # twice: nothing more to do
    with session_scope(sessions) as session:
        ages = sorted((now - e.at.replace(tzinfo=UTC)).days for e in session.scalars(select(Event)))
        assert ages == [1, 100], "what retention keeps, and only that"
        if engine.dialect.name == "postgresql":
            names = partitions(session.connection())
            assert partition_name(month_of(now - timedelta(days=200))) not in names
            assert partition_name(month_of(now - timedelta(days=100))) in names
            assert partition_name(next_month(next_month(month_of(now)))) in names


def test_the_list_queries_use_their_indexes_and_prune_partitions(
    sessions: "sessionmaker[Session]",
) -> None:
    if engine_of(sessions).dialect.name != "postgresql":
        return  # the plans below are PostgreSQL's (SQLite has the same indexes)
    now = datetime.now(UTC)
    maintain_events(engine_of(sessions), retention_days=90, now=now)
    with session_scope(sessions) as session:
        session.execute(text("SET enable_seqscan = off"))  # a tiny table: judge the indexes
        # Each partition's copy of the parent's index, read backwards (newest first) under
        # a LIMIT: a page costs a few rows per partition, however many events there are.
        cases = {
            EventFilter(camera_id="c" * 32): "_camera_id_id_idx",
            EventFilter(site_id="s" * 32): "_site_id_id_idx",
            EventFilter(type="motion.start"): "_type_id_idx",
            EventFilter(): "_pkey",
        }
        for where, index in cases.items():
            plan = explain(session, where)
            assert plan.startswith("Limit") and "Index Scan Backward using events_y" in plan
            assert index in plan and "Seq Scan" not in plan, (where, plan)
        recent = explain(session, EventFilter(since=now - timedelta(hours=1), until=now))
        assert partition_name(month_of(now)) in recent
        old = partition_name(month_of(now - timedelta(days=60)))
        assert old not in recent, "partitions outside the range are not read"


def explain(session: Session, where: EventFilter) -> str:
    statement = build_list_query(limit=50, before=None, where=where).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    rows = session.execute(text(f"EXPLAIN {statement}"))
    return "\n".join(row[0] for row in rows)
