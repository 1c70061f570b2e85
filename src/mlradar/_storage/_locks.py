"""Advisory locks: one writer at a time for work that lives beside the database.

The ranking index is files next to the database (or in a cache directory for PostgreSQL),
written by an explicit sync job.  On one machine a file lock serialises the writers; on
PostgreSQL, where writers may run on several machines against one database, the sync
also holds a session-level ``pg_advisory_lock`` for as long as it writes.  SQLite has no
such lock: the caller's file lock is the whole story there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mlradar._storage._base import StorageBase
from mlradar.exceptions import StorageError


class LocksStorage(StorageBase):
    @contextmanager
    def advisory_lock(self, key: int) -> Iterator[None]:
        """Hold the database-wide advisory lock ``key`` (a signed 64-bit number) while the
        block runs, waiting for another holder to finish; a no-op on SQLite."""
        if self.dialect != "postgresql":
            yield
            return
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        finally:
            conn.close()

    @contextmanager
    def try_advisory_lock(self, key: int) -> Iterator[bool]:
        """Take the database-wide advisory lock ``key`` if nobody holds it, without
        waiting: yields True when held for the block, False when another session holds
        it.  On SQLite always True (the caller's file lock is the whole story there)."""
        if self.dialect != "postgresql":
            yield True
            return
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc
        finally:
            conn.close()


__all__ = ["LocksStorage"]
