"""Items gain an index on (source, first seen).

``items`` puts an undated item where its date would be only when it arrived after its
source's first fetch: its first-seen time then says when it appeared, while an undated
item of the first fetch is old content of unknown age.  Telling the two apart asks for
each source's first fetch time, which this index answers without a scan.  An index only:
the downgrade drops it and loses nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_source_first_seen", "items", ["source_id", "first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_items_source_first_seen", table_name="items")
