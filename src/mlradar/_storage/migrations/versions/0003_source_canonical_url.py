"""sources.canonical_url: find an existing subscription to the same feed in one lookup.

Two URLs that differ only by tracking parameters, default port, case of the host or a
fragment are the same feed; the check used to canonicalize every stored source per add.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("canonical_url", sa.Text(), nullable=True))
    op.create_index("ix_sources_canonical_url", "sources", ["canonical_url"], unique=False)
    # Rows from before this revision keep NULL: the lookup also matches on url itself.


def downgrade() -> None:
    op.drop_index("ix_sources_canonical_url", table_name="sources")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("canonical_url")
