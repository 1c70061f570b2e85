"""The catalog's extras: retired entries, curated order, URL keys, and OPML outlines.

* ``catalog_entries.retired``: why the built-in catalog knows a resource is gone;
  ``catalog_entries.position``: the curated order that learning paths keep.
* ``catalog_keys``: every address an entry is known under (its URL, old homes named by
  lists, a new home found by a link check), folded by the catalog's match key, so that an
  import finds the entry it already has.
* ``source_outlines`` and ``opml_folders``: what an OPML import said about each feed and
  folder (attributes and document position), so that export writes the file back as it was.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("catalog_entries", sa.Column("retired", sa.Text(), nullable=True))
    op.add_column("catalog_entries", sa.Column("position", sa.Integer(), nullable=True))
    op.create_table(
        "catalog_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_catalog_keys_entry_id_catalog_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_keys")),
    )
    op.create_index("ix_catalog_keys_entry_id", "catalog_keys", ["entry_id"], unique=False)
    op.create_table(
        "source_outlines",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_outlines_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "folder", name=op.f("pk_source_outlines")),
    )
    op.create_table(
        "opml_folders",
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_opml_folders")),
    )


def downgrade() -> None:
    op.drop_table("opml_folders")
    op.drop_table("source_outlines")
    op.drop_index("ix_catalog_keys_entry_id", table_name="catalog_keys")
    op.drop_table("catalog_keys")
    with op.batch_alter_table("catalog_entries") as batch:
        batch.drop_column("position")
        batch.drop_column("retired")
