"""Stories: one per paper or link, with its mentions; the enrichment cache.

* ``stories`` (a head: best title, URL, arXiv id, first and last seen), ``story_items``
  (the story of each item) and ``story_keys`` (what a story is found by);
* ``enrich_cache``: Semantic Scholar responses with the date they were fetched.

Lossless: no existing row changes.  Existing items get their stories from a backfill job
this migration triggers (the ``stories.backfill`` state entry): the join is a domain
decision that a migration may not import, so the facade runs it, in resumable batches of
items not in a story yet, before the next update or stories listing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BACKFILL_KEY = "stories.backfill"


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("title_rank", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("arxiv_id", sa.String(length=40), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index("ix_stories_arxiv_id", "stories", ["arxiv_id"], unique=False)
    op.create_index("ix_stories_last_seen_at", "stories", ["last_seen_at"], unique=False)
    op.create_table(
        "story_items",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_story_items_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_items_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_story_items")),
    )
    op.create_index("ix_story_items_story_id", "story_items", ["story_id"], unique=False)
    op.create_table(
        "story_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_keys_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_story_keys")),
    )
    op.create_index("ix_story_keys_story_id", "story_keys", ["story_id"], unique=False)
    op.create_table(
        "enrich_cache",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "ref", name=op.f("pk_enrich_cache")),
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM items LIMIT 1")).first() is not None:
        bind.execute(
            sa.text("INSERT INTO state (key, value, updated_at) VALUES (:k, 'pending', :n)"),
            {"k": BACKFILL_KEY, "n": datetime.now(UTC).replace(tzinfo=None)},
        )


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM state WHERE key = '{BACKFILL_KEY}'"))
    op.drop_table("enrich_cache")
    op.drop_index("ix_story_keys_story_id", table_name="story_keys")
    op.drop_table("story_keys")
    op.drop_index("ix_story_items_story_id", table_name="story_items")
    op.drop_table("story_items")
    op.drop_index("ix_stories_last_seen_at", table_name="stories")
    op.drop_index("ix_stories_arxiv_id", table_name="stories")
    op.drop_table("stories")
