"""Indexes on the change stamps, so the ranking index finds edited papers and items.

``papers.stored_at`` is set whenever a paper is inserted or its record changes (a new
arXiv version, a new abstract); ``items.last_seen_at`` whenever an item is inserted or
its content changes.  The ranking index asks "what was written after X?" on every sync:
without an index that is a scan of every paper.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_stored_at", "papers", ["stored_at"], unique=False)
    op.create_index("ix_items_last_seen_at", "items", ["last_seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_items_last_seen_at", table_name="items")
    op.drop_index("ix_papers_stored_at", table_name="papers")
