"""Reads without SQLAlchemy: the few queries a short command needs, in stdlib ``sqlite3``.

`mlradar stats` and `mlradar items` are done in a few milliseconds of SQL, and importing
SQLAlchemy costs them about 0.2 s more than that (a third of the command).  So for a SQLite
database already at the newest schema revision, the facade answers these reads here and
opens :class:`~mlradar._storage.Storage` only when a command goes on to something else.

:class:`Storage` stays the one writer and the reference: each query here mirrors one of
its queries, and ``tests/test_storage_lite.py`` checks that both give the same answers on
the same database.  Anything this cannot answer (another database, an older schema, a
filter it does not know) goes to the full storage, never to a guess.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mlradar._storage._head import head_revision, sqlite_file
from mlradar.exceptions import StorageError
from mlradar.types import Item, Stats, User


class Reads(Protocol):
    """The reads both :class:`LiteReads` and the full storage answer."""

    def find_user(self, name: str) -> User | None: ...

    def stats(self, user_id: int | None = None) -> Stats: ...

    def list_items(
        self,
        *,
        limit: int = 20,
        source_id: int | None = None,
        since: datetime | None = None,
        user_id: int | None = None,
    ) -> list[Item]: ...


def _dt(value: str | None) -> datetime | None:
    # SQLAlchemy's SQLite DateTime: naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff".
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bind_dt(value: datetime) -> str:
    # Compared as text in SQL, so it must be spelled exactly as SQLAlchemy stores it.
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use UTC-aware values")
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


# An item's date (see ItemsStorage.list_items): published, else first seen when it came
# after its source's first fetch, else none (old content of unknown age).
_WHEN = """CASE WHEN items.published_at IS NOT NULL THEN items.published_at
    WHEN items.first_seen_at > (SELECT min(f.first_seen_at) FROM items AS f
                                WHERE f.source_id = items.source_id)
    THEN items.first_seen_at END"""

_ITEM_COLUMNS = """items.id, items.source_id, items."key", items.url, items.title,
    items.author, items.published_at, items.updated_at, items.first_seen_at,
    items.summary_html, items.content_html, items.categories, sources.kind,
    items.points, items.comments, items.comments_url,
    (SELECT group_concat(item_refs.ref, ' ') FROM item_refs
     WHERE item_refs.item_id = items.id AND item_refs.kind = 'arxiv')"""


def _row_to_item(row: Sequence[Any], source_name: str) -> Item:
    (id_, source_id, key, url, title, author, published, updated, first_seen, summary,
     content, categories, kind, points, comments, comments_url, arxiv) = row  # fmt: skip
    first = _dt(first_seen)
    assert first is not None  # NOT NULL in the schema
    return Item(
        id=id_,
        source_id=source_id,
        source_name=source_name,
        key=key,
        url=url,
        title=title,
        author=author,
        published_at=_dt(published),
        updated_at=_dt(updated),
        first_seen_at=first,
        summary_html=summary,
        content_html=content,
        categories=tuple(json.loads(categories)) if categories else (),
        arxiv_ids=tuple(sorted(arxiv.split())) if arxiv else (),
        source_kind=kind,
        points=points,
        comments=comments,
        comments_url=comments_url,
    )


class LiteReads:
    """Read-only answers from a SQLite file at the newest schema revision."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, url: str) -> LiteReads | None:
        """Reads for the database at ``url``, or None when the full storage must open it:
        not SQLite, not there yet, empty, or not at the newest revision (it migrates)."""
        path = sqlite_file(url)
        head = head_revision()
        if path is None or head is None or "?" in url:
            return None  # options in the URL are for SQLAlchemy to read
        path = path.expanduser()
        try:
            if not path.is_file() or path.stat().st_size == 0:
                return None
            reads = cls(path)
            with reads._connect() as conn:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except (OSError, sqlite3.Error, StorageError):
            return None  # the full storage reports what is wrong, in its words
        return reads if row is not None and row[0] == head else None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: a few hundred microseconds, and safe from any thread.
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as conn:
                conn.execute("PRAGMA query_only=ON")
                yield conn
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"database error: {exc}") from exc

    def find_user(self, name: str) -> User | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, name, created_at FROM users WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        created = _dt(row[2])
        assert created is not None
        return User(int(row[0]), str(row[1]), created)

    def stats(self, user_id: int | None = None) -> Stats:
        """As :meth:`ItemsStorage.stats <mlradar._storage._items.ItemsStorage.stats>`."""
        mine = "SELECT source_id FROM subscriptions" + (
            " WHERE user_id = :user" if user_id is not None else ""
        )
        tags = (
            "SELECT tag FROM user_tags UNION SELECT tag FROM subscription_tags"
            if user_id is None
            else "SELECT tag FROM user_tags WHERE user_id = :user"
            " UNION SELECT tag FROM subscription_tags WHERE user_id = :user"
        )
        linked = "SELECT count(DISTINCT item_id) FROM item_refs WHERE kind = 'arxiv'" + (
            f" AND item_id IN (SELECT id FROM items WHERE source_id IN ({mine}))"
            if user_id is not None
            else ""
        )
        queries = (
            f"SELECT count(*) FROM sources WHERE id IN ({mine})",
            f"SELECT count(*) FROM items WHERE source_id IN ({mine})",
            # Stubs are few: counting them through their partial index and subtracting
            # reads two small indexes instead of every paper's row (0.05 s at 75k).
            "SELECT (SELECT count(*) FROM papers) - (SELECT count(*) FROM papers WHERE stub = 1)",
            f"SELECT count(*) FROM ({tags})",
            linked,
            f"SELECT count(*) FROM sources WHERE consecutive_errors > 0 AND id IN ({mine})",
        )
        params = {"user": user_id}
        with self._connect() as conn:
            counts = [int(conn.execute(q, params).fetchone()[0]) for q in queries]
        return Stats(*counts)

    def list_items(
        self,
        *,
        limit: int = 20,
        source_id: int | None = None,
        since: datetime | None = None,
        user_id: int | None = None,
    ) -> list[Item]:
        """As :meth:`ItemsStorage.list_items <mlradar._storage._items.ItemsStorage.list_items>`
        without its paper filters."""
        if user_id is None:
            name = "coalesce(sources.title, sources.url)"
            joined = "items JOIN sources ON sources.id = items.source_id"
        else:
            name = "coalesce(subscriptions.name, sources.title, sources.url)"
            joined = (
                "items JOIN sources ON sources.id = items.source_id JOIN subscriptions"
                " ON subscriptions.source_id = items.source_id AND subscriptions.user_id = :user"
            )
        where = []
        if source_id is not None:
            where.append("items.source_id = :source")
        if since is not None:
            where.append(f"({_WHEN}) >= :since")
        sql = (
            f"SELECT {_ITEM_COLUMNS}, {name} FROM {joined}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY ({_WHEN}) DESC NULLS LAST, items.first_seen_at DESC, items.id DESC"
            " LIMIT :limit"
        )
        params = {
            "user": user_id,
            "source": source_id,
            "since": None if since is None else _bind_dt(since),
            "limit": limit,
        }
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_row_to_item(r[:-1], r[-1]) for r in rows]


__all__ = ["LiteReads", "Reads"]
