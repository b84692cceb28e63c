"""Secrets kept apart and sealed: a pull camera's credentials leave `source_url` (which keeps
the URL without them) for `source_secret`, encrypted (the app moves existing ones on start,
holding the key: `api.secrets_upkeep`); API keys may expire.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as cameras:
        cameras.add_column(sa.Column("source_secret", sa.Text(), nullable=True))
    with op.batch_alter_table("api_keys") as keys:
        keys.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as keys:
        keys.drop_column("expires_at")
    with op.batch_alter_table("cameras") as cameras:
        cameras.drop_column("source_secret")
