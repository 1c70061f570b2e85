"""Bulk loads: full-text maintenance deferred, and caught up in id order.

Indexing a paper as its row goes in (SQLite's FTS5 triggers, PostgreSQL's GIN and RUM
indexes) costs a bulk snapshot load as much as writing the rows on SQLite, and most of
the load on PostgreSQL (docs/benchmarks.md, issue 15 §2).  While a load defers
it, a ``state`` row (:func:`~mlradar._storage._dialects.fts_deferred_key`) says so, and it
changes in the same transaction as whatever it describes, so a load killed at any moment
leaves a database that is consistent and says how far its index got:

* SQLite: the index covers exactly the papers up to the id the state row holds (the
  triggers still maintain those, see :func:`~mlradar._storage._dialects.sqlite_fts_triggers`);
  the papers above it are indexed by :meth:`BulkStorage.index_deferred_papers`, which
  moves the mark in the same transaction, until :meth:`BulkStorage.end_deferred_paper_fts`
  puts the ordinary triggers back.  Search misses the papers above the mark meanwhile,
  those other commands add included, until an import ends the load.
* PostgreSQL: the search vector is a generated column, so every row always has its own;
  only the GIN (and RUM) indexes are dropped, and built again at the end.  Search stays
  complete, only slower, meanwhile.

Which loads defer, and when to catch up, is the caller's decision.  An update run of many
sources defers the items' index the same way (SQLite only: ``defer_item_fts``), and
catches up every so many sources and at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, func, select

from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase
from mlradar._storage._dialects import (
    ITEMS_FTS,
    PAPERS_FTS,
    FtsSpec,
    fts_deferred_key,
    postgres_rum_index,
    postgres_search_index_ddl,
    sqlite_fts_drop_triggers,
    sqlite_fts_index_rows,
    sqlite_fts_triggers,
)

_KEY = fts_deferred_key(PAPERS_FTS)
_RUM = "rum"
#: WAL pages between automatic checkpoints while a bulk load writes (SQLite's default is
#: 1,000): each checkpoint syncs the WAL and the database to disk, measured at about a
#: fifth of the row-writing time of a load on this machine's disk.
BULK_WAL_AUTOCHECKPOINT = 50_000
#: The same for a large update run: up to ~40 MB of WAL.  A 300-feed cold update took
#: 0.91x the time of the default's (median of 3 interleaved; 50,000 pages gained no more).
UPDATE_WAL_AUTOCHECKPOINT = 10_000


def _mark(conn: Connection, spec: FtsSpec) -> str | None:
    key = fts_deferred_key(spec)
    return conn.execute(select(s.state.c.value).where(s.state.c.key == key)).scalar()


def _defer_sqlite(storage: StorageBase, conn: Connection, spec: FtsSpec) -> None:
    table = getattr(s, spec.table)
    top = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()
    # The state row first: Python's sqlite3 opens its transaction at the first data
    # statement only, and the DDL after it must be inside that transaction.
    storage.set_state(fts_deferred_key(spec), str(int(top or 0)), conn)
    for stmt in sqlite_fts_drop_triggers(spec):
        conn.exec_driver_sql(stmt)
    for stmt in sqlite_fts_triggers(spec, deferred=True):
        conn.exec_driver_sql(stmt)


def _index_sqlite(storage: StorageBase, conn: Connection, spec: FtsSpec, limit: int | None) -> int:
    mark = _mark(conn, spec)
    if mark is None:
        return 0
    after = int(mark)
    table = getattr(s, spec.table)
    newer = select(table.c.id).where(table.c.id > after).order_by(table.c.id)
    if limit is not None:
        newer = newer.limit(limit)
    ids = newer.subquery()
    upto, count = conn.execute(select(func.max(ids.c.id), func.count())).one()
    if not count:
        return 0
    conn.exec_driver_sql(sqlite_fts_index_rows(spec), {"after": after, "upto": upto})
    storage.set_state(fts_deferred_key(spec), str(int(upto)), conn)
    return int(count)


def _end_sqlite(storage: StorageBase, conn: Connection, spec: FtsSpec) -> None:
    _index_sqlite(storage, conn, spec, None)
    storage.set_state(fts_deferred_key(spec), None, conn)
    for stmt in sqlite_fts_drop_triggers(spec):
        conn.exec_driver_sql(stmt)
    for stmt in sqlite_fts_triggers(spec):
        conn.exec_driver_sql(stmt)


class BulkStorage(StorageBase):
    def paper_fts_deferred(self) -> bool:
        """Whether a bulk load has deferred the papers' full-text maintenance (and has not
        ended yet: it may have been killed, and the next load must end it)."""
        return self.get_state(_KEY) is not None

    def defer_paper_fts(self) -> None:
        """Stop indexing papers row by row as they are written (no-op when deferred)."""
        with self.begin() as conn:
            if _mark(conn, PAPERS_FTS) is not None:
                return
            if self.dialect == "sqlite":
                _defer_sqlite(self, conn, PAPERS_FTS)
                return
            rum = bool(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_indexes WHERE indexname = %(n)s",
                    {"n": postgres_rum_index(PAPERS_FTS)},
                ).scalar()
            )
            self.set_state(_KEY, _RUM if rum else "gin", conn)
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {postgres_rum_index(PAPERS_FTS)}")
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_{PAPERS_FTS.table}_search_vector")

    def index_deferred_papers(self, limit: int) -> int:
        """Index up to ``limit`` more of the papers a bulk load deferred, in one
        transaction; the number indexed (0: none is left, or nothing is deferred).
        PostgreSQL has nothing to do row by row: always 0."""
        if self.dialect != "sqlite":
            return 0
        with self.begin() as conn:
            return _index_sqlite(self, conn, PAPERS_FTS, limit)

    def end_deferred_paper_fts(self) -> None:
        """Index what is left and maintain the index row by row again (no-op when not
        deferred).  One transaction: a kill here leaves the load deferred, to be ended by
        the next one."""
        with self.begin() as conn:
            mark = _mark(conn, PAPERS_FTS)
            if mark is None:
                return
            if self.dialect == "sqlite":
                _end_sqlite(self, conn, PAPERS_FTS)
                return
            self.set_state(_KEY, None, conn)
            for stmt in postgres_search_index_ddl(PAPERS_FTS, rum=mark == _RUM):
                conn.exec_driver_sql(stmt)

    # -- items: the same deferral for an update run, on SQLite only -------------------------
    #
    # Indexing a batch of items in one INSERT ... SELECT costs about a fifth of indexing
    # them by trigger, one source's transaction at a time (docs/benchmarks.md, issue 15,
    # session 9).  PostgreSQL keeps its GIN index: rebuilding it costs what the whole
    # table holds, not what the run added.

    def item_fts_deferred(self) -> bool:
        """Whether an update run has deferred the items' full-text maintenance (it may
        have been killed: the next run ends it)."""
        return self.dialect == "sqlite" and self.get_state(fts_deferred_key(ITEMS_FTS)) is not None

    def defer_item_fts(self) -> bool:
        """Stop indexing items row by row as they are written; whether they are deferred
        now (always False on PostgreSQL).  Search misses the items above the mark until
        :meth:`index_deferred_items` or :meth:`end_deferred_item_fts` reaches them."""
        if self.dialect != "sqlite":
            return False
        with self.begin() as conn:
            if _mark(conn, ITEMS_FTS) is None:
                _defer_sqlite(self, conn, ITEMS_FTS)
        return True

    def index_deferred_items(self, limit: int | None = None) -> int:
        """Index (up to ``limit``) items stored since the deferral, in one transaction;
        how many were indexed."""
        if self.dialect != "sqlite":
            return 0
        with self.begin() as conn:
            return _index_sqlite(self, conn, ITEMS_FTS, limit)

    def end_deferred_item_fts(self) -> None:
        """Index the items left and maintain the index row by row again (no-op when not
        deferred), in one transaction."""
        if self.dialect != "sqlite":
            return
        with self.begin() as conn:
            if _mark(conn, ITEMS_FTS) is not None:
                _end_sqlite(self, conn, ITEMS_FTS)

    @contextmanager
    def bulk_writes(self, pages: int = BULK_WAL_AUTOCHECKPOINT) -> Iterator[None]:
        """While the block runs, SQLite checkpoints its WAL every ``pages`` pages (the
        default: up to ~200 MB of WAL), not every 1,000.

        Durability is unchanged (``synchronous`` stays NORMAL, which loses no committed
        transaction to a killed process): only fewer syncs, and a larger WAL meanwhile.
        A no-op on PostgreSQL.
        """
        if self.dialect != "sqlite":
            yield
            return

        def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")

        event.listen(self.engine, "checkout", on_checkout)
        try:
            yield
        finally:
            event.remove(self.engine, "checkout", on_checkout)
            # The pooled connections keep the setting: new ones start from the default.
            self.engine.dispose()
