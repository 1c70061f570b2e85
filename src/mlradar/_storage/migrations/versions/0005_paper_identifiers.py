"""Papers beyond arXiv: identifiers of every scheme, library references by internal id.

* ``papers.arxiv_id`` may be NULL (an OpenReview or PMLR paper not on arXiv); new columns
  ``venue``, ``url``, ``pdf``, ``ids`` (other identifiers) and ``stub``;
* ``paper_ids`` holds every identifier of every paper, filled here from the arXiv ids and
  DOIs already stored (a DOI two papers give stays with the first);
* library references (tags, reactions, reads) of papers pointed at arXiv ids; they now
  point at ``papers.id``.  A reference to a paper whose record was never stored gets a
  *stub* paper (known by its arXiv id only), so nothing the user did is lost.

SQLite cannot make a column nullable in place: the papers table is rebuilt (ids kept, so
the full-text index stays valid) and its full-text triggers are created again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from mlradar._identity.doi import normalize_doi
from mlradar._storage._dialects import PAPERS_FTS, sqlite_fts_triggers
from mlradar.exceptions import InvalidInputError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LIBRARY = ("user_tags", "user_reactions", "user_reads")
_CHUNK = 5000


def _drop_paper_triggers() -> None:
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS papers_fts_{suffix}")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        _drop_paper_triggers()
    with op.batch_alter_table("papers") as batch:
        batch.alter_column("arxiv_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(sa.Column("venue", sa.Text(), nullable=True))
        batch.add_column(sa.Column("url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pdf", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ids", sa.Text(), nullable=True))
        batch.add_column(sa.Column("stub", sa.Boolean(), nullable=False, server_default=sa.false()))
    if sqlite:
        for stmt in sqlite_fts_triggers(PAPERS_FTS):
            op.execute(stmt)
    op.create_table(
        "paper_ids",
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_paper_ids_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scheme", "value", name=op.f("pk_paper_ids")),
    )
    op.create_index("ix_paper_ids_paper_id", "paper_ids", ["paper_id"], unique=False)

    op.execute(
        "INSERT INTO paper_ids (scheme, value, paper_id) "
        "SELECT 'arxiv', arxiv_id, id FROM papers WHERE arxiv_id IS NOT NULL"
    )
    claimed: set[str] = set()
    rows = bind.execute(
        sa.text("SELECT id, doi FROM papers WHERE doi IS NOT NULL ORDER BY id")
    ).all()
    dois = []
    for paper_id, raw in rows:
        try:
            doi = normalize_doi(raw)
        except InvalidInputError:
            continue
        if doi not in claimed:
            claimed.add(doi)
            dois.append({"v": doi, "p": paper_id})
    for i in range(0, len(dois), _CHUNK):
        bind.execute(
            sa.text("INSERT INTO paper_ids (scheme, value, paper_id) VALUES ('doi', :v, :p)"),
            dois[i : i + _CHUNK],
        )

    refs = set()
    for table in _LIBRARY:
        refs |= {
            r for (r,) in bind.execute(sa.text(f"SELECT ref FROM {table} WHERE kind = 'paper'"))
        }
    known: dict[str, int] = dict(
        bind.execute(sa.text("SELECT arxiv_id, id FROM papers WHERE arxiv_id IS NOT NULL")).all()
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    for ref in sorted(refs - set(known)):
        new_id = bind.execute(
            sa.text(
                "INSERT INTO papers (arxiv_id, title, authors, categories, abstract, versions, "
                "content_hash, stored_at, stub) VALUES (:a, '', '[]', '', '', '[]', '', :now, "
                ":stub) RETURNING id"
            ),
            {"a": ref, "now": now, "stub": True},
        ).scalar_one()
        bind.execute(
            sa.text("INSERT INTO paper_ids (scheme, value, paper_id) VALUES ('arxiv', :a, :p)"),
            {"a": ref, "p": new_id},
        )
        known[ref] = new_id
    for table in _LIBRARY:
        for ref in refs:
            bind.execute(
                sa.text(f"UPDATE {table} SET ref = :new WHERE kind = 'paper' AND ref = :old"),
                {"new": str(known[ref]), "old": ref},
            )


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    ids: dict[int, str | None] = dict(
        bind.execute(sa.text("SELECT id, arxiv_id FROM papers")).all()
    )
    for table in _LIBRARY:
        for (ref,) in bind.execute(
            sa.text(f"SELECT DISTINCT ref FROM {table} WHERE kind = 'paper'")
        ).all():
            arxiv_id = ids.get(int(ref))
            if arxiv_id is None:  # a paper off arXiv: the old schema cannot name it
                bind.execute(
                    sa.text(f"DELETE FROM {table} WHERE kind = 'paper' AND ref = :r"), {"r": ref}
                )
            else:
                bind.execute(
                    sa.text(f"UPDATE {table} SET ref = :a WHERE kind = 'paper' AND ref = :r"),
                    {"a": arxiv_id, "r": ref},
                )
    op.execute("DELETE FROM papers WHERE arxiv_id IS NULL OR stub")
    op.drop_index("ix_paper_ids_paper_id", table_name="paper_ids")
    op.drop_table("paper_ids")
    if sqlite:
        _drop_paper_triggers()
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("stub")
        batch.drop_column("ids")
        batch.drop_column("pdf")
        batch.drop_column("url")
        batch.drop_column("venue")
        batch.alter_column("arxiv_id", existing_type=sa.String(40), nullable=False)
    if sqlite:
        for stmt in sqlite_fts_triggers(PAPERS_FTS):
            op.execute(stmt)
