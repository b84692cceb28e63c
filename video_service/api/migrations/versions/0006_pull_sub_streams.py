"""A pull camera's optional sub-stream: its URL without credentials, and the credentials
sealed, as for the main source.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as table:
        table.add_column(sa.Column("sub_source_url", sa.Text(), nullable=True))
        table.add_column(sa.Column("sub_source_secret", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cameras") as table:
        table.drop_column("sub_source_secret")
        table.drop_column("sub_source_url")
