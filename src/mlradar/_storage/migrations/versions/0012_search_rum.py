"""PostgreSQL: a RUM index on the search vectors of items and papers, where possible.

GIN finds the matches of a query but not their positions, so ranking reads every
match's ``search_vector`` from the table: at 75k papers a common word costs ~200 ms
(``benchmarks/search_scale.py tails``).  The ``rum`` extension's index keeps the
positions and returns matches best first, so a search reads only the rows it shows
(p95 16 ms at 75k).  The extension is a separate package (Debian's
``postgresql-15-rum``) and creating it needs the privilege to: when it is not
available, or cannot be created, nothing changes and search keeps GIN and
``ts_rank_cd``.  Search uses RUM only when both indexes are there.

Indexes only, built from the stored vectors (the papers' index took 126 s and 1 GB at
1M papers, GIN's is 445 MB): the upgrade loses nothing and the downgrade drops them
(the extension stays, it may have other users).  SQLite: nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from mlradar._storage._dialects import ALL_FTS, postgres_rum_ddl, postgres_rum_index

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _create_rum_extension(conn: sa.Connection) -> bool:
    if conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'rum'")):
        return True
    available = conn.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'rum'")
    )
    if not available:
        return False
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration.
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS rum"))
    except sa.exc.DBAPIError:
        return False
    return True


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not _create_rum_extension(conn):
        return
    for spec in ALL_FTS:
        for stmt in postgres_rum_ddl(spec):
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for spec in ALL_FTS:
        op.execute(f"DROP INDEX IF EXISTS {postgres_rum_index(spec)}")
