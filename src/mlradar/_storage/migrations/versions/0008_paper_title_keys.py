"""Papers gain a title key: their folded title and first author's surname, indexed.

An accepted paper from OpenReview or PMLR that gives no arXiv id is found to be the arXiv
paper of the same title and first author through it (see :mod:`mlradar._papers`).  The
key is derived from the title and authors already stored, so the upgrade computes it for
every paper (stubs have no title and keep none) and the downgrade can drop it losing
nothing.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

from mlradar._papers.identity import title_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHUNK = 5000


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("papers", sa.Column("title_key", sa.Text(), nullable=True))
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, title, authors FROM papers WHERE id > :last AND title <> '' "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _CHUNK},
        ).all()
        if not rows:
            break
        last = int(rows[-1].id)
        values = []
        for r in rows:
            try:
                authors = tuple(str(a) for a in json.loads(r.authors or "[]"))
            except ValueError:
                authors = ()
            key = title_key(r.title, authors)
            if key is not None:
                values.append({"k": key, "pk": int(r.id)})
        if values:
            bind.execute(sa.text("UPDATE papers SET title_key = :k WHERE id = :pk"), values)
    op.create_index("ix_papers_title_key", "papers", ["title_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_papers_title_key", table_name="papers")
    # Derived from the title and authors: dropping it loses nothing.
    op.execute("ALTER TABLE papers DROP COLUMN title_key")
