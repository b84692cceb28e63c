"""Events at the platform's scale: on PostgreSQL partitioned by month (declarative range
partitions on `at`, a bigint id from the same sequence); on both, indexes for the queries the
API runs (newest first by camera, by site, by type, by time) and for keyset pagination of
sites and cameras; event types up to 64 characters (namespaced types from outside).

Revision ID: 0002
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from video_service.api import partitions

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EVENT_INDEXES = {
    "ix_events_camera_id": ["camera_id", "id"],
    "ix_events_site_id": ["site_id", "id"],
    "ix_events_type_id": ["type", "id"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _partition_events()
    else:
        with op.batch_alter_table("events") as events:
            events.alter_column("type", type_=sa.String(64))
        op.drop_index("ix_events_type", "events")
        op.drop_index("ix_events_camera_at", "events")
        op.create_index("ix_events_at", "events", ["at"])
    for name, columns in EVENT_INDEXES.items():
        op.create_index(name, "events", columns)
    op.create_index("ix_sites_created_id", "sites", ["created_at", "id"])
    op.create_index("ix_cameras_created_id", "cameras", ["created_at", "id"])
    op.create_index("ix_cameras_site_created_id", "cameras", ["site_id", "created_at", "id"])


def _partition_events() -> None:
    bind = op.get_bind()
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER INDEX ix_events_type RENAME TO ix_events_unpartitioned_type")
    op.execute("ALTER INDEX ix_events_camera_at RENAME TO ix_events_unpartitioned_camera")
    op.execute("ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_old_pkey")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    op.execute("ALTER SEQUENCE events_id_seq AS bigint")
    op.execute(
        "CREATE TABLE events ("
        " id bigint NOT NULL DEFAULT nextval('events_id_seq'),"
        " at timestamptz NOT NULL,"
        " type varchar(64) NOT NULL,"
        " camera_id varchar(32),"
        " site_id varchar(32),"
        " detail json NOT NULL,"
        " PRIMARY KEY (id, at)"
        ") PARTITION BY RANGE (at)"
    )
    now = datetime.now(UTC)
    oldest, newest = bind.execute(
        sa.text("SELECT min(at), max(at) FROM events_unpartitioned")
    ).one()
    first = partitions.month_of(min(oldest, now) if oldest is not None else now)
    last = partitions.month_of(now)
    for _ in range(partitions.MONTHS_AHEAD):
        last = partitions.next_month(last)
    if newest is not None:
        last = max(last, partitions.month_of(newest))
    partitions.ensure_partitions(bind, partitions.months_between(first, last))
    op.execute(
        "INSERT INTO events (id, at, type, camera_id, site_id, detail) "
        "SELECT id, at, type, camera_id, site_id, detail FROM events_unpartitioned"
    )
    op.execute("DROP TABLE events_unpartitioned")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")


def downgrade() -> None:
    raise NotImplementedError("events are not un-partitioned: restore from a backup instead")
