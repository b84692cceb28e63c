"""The recording index: one row per camera and hour, its segments packed
(`video_service.shared.recording_index`); the primary key (camera, hour) finds a range
in the rows it covers.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_hours",
        sa.Column("camera_id", sa.String(32), primary_key=True),
        sa.Column("hour", sa.BigInteger(), primary_key=True),
        sa.Column("entries", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recording_hours")
