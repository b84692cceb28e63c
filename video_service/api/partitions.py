"""Events by month on PostgreSQL: declarative range partitions of `events` on `at`, created
ahead by the application itself (no extension), and retention that drops whole partitions.
SQLite (the embedded default) keeps one table and deletes aged-out events in batches.

Partition names are `events_yYYYYmMM`; each holds [first of the month, first of the next)
in UTC. Callers hold `db.schema_lock` (two processes must not create the same partition at
once)."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text

MONTHS_AHEAD = 2
_SQLITE_BATCH = 10_000


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def partition_name(month: date) -> str:
    return f"events_y{month.year:04d}m{month.month:02d}"


def build_partition_ddl(month: date) -> str:
    lo, hi = month.isoformat(), next_month(month).isoformat()
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF events "
        f"FOR VALUES FROM ('{lo} 00:00:00+00') TO ('{hi} 00:00:00+00')"
    )


def ensure_partitions(connection: Connection, months: list[date]) -> list[str]:
    """Create the months' partitions that are missing; their names."""
    existing = set(partitions(connection))
    created = []
    for month in months:
        if partition_name(month) not in existing:
            connection.execute(text(build_partition_ddl(month)))
            created.append(partition_name(month))
    return created


def ensure_ahead(connection: Connection, *, now: datetime, retention_days: int) -> list[str]:
    """Partitions from the oldest month retention keeps to MONTHS_AHEAD months ahead."""
    first = month_of(now - timedelta(days=retention_days))
    last = month_of(now)
    for _ in range(MONTHS_AHEAD):
        last = next_month(last)
    return ensure_partitions(connection, months_between(first, last))


def partitions(connection: Connection) -> list[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' "
            "ORDER BY c.relname"
        )
    )
    return [row[0] for row in rows]


def drop_before(connection: Connection, cutoff: datetime) -> list[str]:
    """Drop the partitions whose whole month lies before `cutoff`; their names."""
    keep_from = partition_name(month_of(cutoff))
    dropped = [name for name in partitions(connection) if name < keep_from]
    for name in dropped:
        connection.execute(text(f"DROP TABLE {name}"))
    return dropped


def delete_before_sqlite(connection: Connection, cutoff: datetime) -> int:
    """SQLite: delete aged-out events in batches (short write locks); how many."""
    deleted = 0
    stamp = cutoff.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    while True:
        batch = connection.execute(
            text(
                "DELETE FROM events WHERE id IN "
                "(SELECT id FROM events WHERE at < :cutoff ORDER BY id LIMIT :n)"
            ),
            {"cutoff": stamp, "n": _SQLITE_BATCH},
        ).rowcount
        connection.commit()
        deleted += batch
        if batch < _SQLITE_BATCH:
            return deleted
