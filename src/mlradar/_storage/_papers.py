"""Papers: idempotent batched upserts (the bulk-import path), lookups and windows.

The write path is tuned for the bulk snapshot import (millions of rows, full-text indexed
by triggers).  Two measured facts shape it:

* new rows go in as multi-row ``INSERT ... VALUES (...), (...)`` statements (SQLAlchemy's
  "insertmanyvalues", triggered by RETURNING), not as an ``executemany`` of one-row
  statements.  SQLite's FTS5 flushes its pending index data at every statement boundary
  inside a trigger, so one statement per row makes the index in tiny segments that must
  then be merged: on the real snapshot this alone halves the throughput;
* an incoming record whose hash equals the stored one costs one indexed lookup and
  nothing else, so re-importing an unchanged file is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Row, bindparam, func, select, update
from sqlalchemy.dialects import sqlite

from mlradar._arxiv.records import merge_papers, paper_hash
from mlradar._model import StoreCounts
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow
from mlradar.types import Paper, PaperVersion

#: State entries to write with a batch: fixed, or made from the batch's counts.
StateUpdate = Mapping[str, str | None] | Callable[[StoreCounts], Mapping[str, str | None]]

#: Ids per ``IN (...)`` lookup: far below every dialect's bound-parameter limit.
_LOOKUP_CHUNK = 900


def _versions_json(versions: Sequence[PaperVersion]) -> str:
    return orjson.dumps(
        [[v.version, v.created.isoformat() if v.created else None] for v in versions]
    ).decode()


def _versions_from_json(value: str | None) -> tuple[PaperVersion, ...]:
    if not value:
        return ()
    out = []
    for number, created in orjson.loads(value):
        out.append(PaperVersion(int(number), datetime.fromisoformat(created) if created else None))
    return tuple(out)


class PaperRow(NamedTuple):
    """A paper as the ``papers`` table stores it (less id and stored_at).

    A plain tuple: cheap to build, to pickle between processes and to bind, which matters
    when millions of them stream through a bulk import.
    """

    arxiv_id: str
    content_hash: str
    title: str
    authors: str
    categories: str
    abstract: str
    comments: str | None
    journal_ref: str | None
    doi: str | None
    report_no: str | None
    license: str | None
    submitter: str | None
    versions: str
    first_version_at: date | None
    updated_at: date | None


_COLUMNS = PaperRow._fields


def paper_row(paper: Paper) -> PaperRow:
    """The stored form of ``paper``, its content hash included."""
    return PaperRow(
        arxiv_id=paper.arxiv_id,
        content_hash=paper_hash(paper),
        title=paper.title,
        authors=orjson.dumps(paper.authors).decode(),
        categories=" ".join(paper.categories),
        abstract=paper.abstract,
        comments=paper.comments,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        report_no=paper.report_no,
        license=paper.license,
        submitter=paper.submitter,
        versions=_versions_json(paper.versions),
        first_version_at=paper.first_version_at,
        updated_at=paper.updated_at,
    )


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def row_to_paper(row: Row[Any] | PaperRow) -> Paper:
    """The record of a ``papers`` row (a database row or a :class:`PaperRow`)."""
    return Paper(
        arxiv_id=row.arxiv_id,
        title=row.title,
        authors=tuple(orjson.loads(row.authors)) if row.authors else (),
        categories=tuple(row.categories.split()) if row.categories else (),
        abstract=row.abstract,
        first_version_at=_day(row.first_version_at),
        updated_at=_day(row.updated_at),
        versions=_versions_from_json(row.versions),
        comments=row.comments,
        journal_ref=row.journal_ref,
        doi=row.doi,
        license=row.license,
        submitter=row.submitter,
        report_no=row.report_no,
    )


def _unique(rows: Iterable[PaperRow]) -> dict[str, PaperRow]:
    """One row per id: a batch naming a paper twice (listings repeat) merges the two."""
    out: dict[str, PaperRow] = {}
    for row in rows:
        seen = out.get(row.arxiv_id)
        if seen is None:
            out[row.arxiv_id] = row
        elif seen.content_hash != row.content_hash:
            out[row.arxiv_id] = paper_row(merge_papers(row_to_paper(seen), row_to_paper(row)))
    return out


#: Rows per INSERT statement in SQLite: 17 parameters each, far below its 32766 limit.
_SQLITE_ROWS_PER_STATEMENT = 500


def _sqlite_insert(conn: Connection, rows: Sequence[PaperRow], now: datetime) -> None:
    """Multi-row INSERTs bound by the driver directly: the bulk import's hot path.

    The values are converted here exactly as SQLAlchemy's SQLite types store them (dates
    as ISO text, timestamps as naive UTC text), so rows read back the same either way.
    """
    day = sqlite.DATE().bind_processor(conn.dialect)  # type: ignore[no-untyped-call]
    stamp = sqlite.DATETIME().bind_processor(conn.dialect)  # type: ignore[no-untyped-call]
    assert day is not None
    assert stamp is not None
    stored_at = stamp(now.astimezone(UTC).replace(tzinfo=None))
    columns = (*_COLUMNS, "stored_at")
    one = "(" + ",".join("?" * len(columns)) + ")"
    head = f"INSERT INTO papers ({','.join(columns)}) VALUES "
    statements: dict[int, str] = {}
    for i in range(0, len(rows), _SQLITE_ROWS_PER_STATEMENT):
        part = rows[i : i + _SQLITE_ROWS_PER_STATEMENT]
        params: list[Any] = []
        for row in part:
            params.extend(row[:-2])
            params.append(day(row.first_version_at))
            params.append(day(row.updated_at))
            params.append(stored_at)
        sql = statements.get(len(part))
        if sql is None:
            sql = statements[len(part)] = head + ",".join([one] * len(part))
        conn.exec_driver_sql(sql, tuple(params))


class PapersStorage(StorageBase):
    def upsert_papers(
        self,
        papers: Iterable[Paper],
        *,
        state: StateUpdate | None = None,
    ) -> StoreCounts:
        """Insert new papers, merge changed ones, skip unchanged ones: one transaction.

        A paper is identified by its versionless arXiv id; an incoming record is merged
        into the stored one (:func:`mlradar._arxiv.records.merge_papers`) and written only
        when the merge changed something.  ``state`` entries (an import checkpoint), or
        the entries a callable makes of this batch's counts, are written in the same
        transaction, so a checkpoint never runs ahead of the data nor lags behind it.
        """
        return self.upsert_paper_rows((paper_row(p) for p in papers), state=state)

    def upsert_paper_rows(
        self,
        rows: Iterable[PaperRow],
        *,
        state: StateUpdate | None = None,
    ) -> StoreCounts:
        """:meth:`upsert_papers` for rows made beforehand (by a bulk import's parser)."""
        unique = _unique(rows)
        with self.begin() as conn:
            counts = self._upsert(conn, unique) if unique else StoreCounts()
            entries = state(counts) if callable(state) else state
            for key, value in (entries or {}).items():
                self.set_state(key, value, conn)
        return counts

    def _upsert(self, conn: Connection, unique: Mapping[str, PaperRow]) -> StoreCounts:
        stored: dict[str, tuple[int, str]] = {}
        ids = list(unique)
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            found = conn.execute(
                select(s.papers.c.arxiv_id, s.papers.c.id, s.papers.c.content_hash).where(
                    s.papers.c.arxiv_id.in_(ids[i : i + _LOOKUP_CHUNK])
                )
            )
            stored.update({r.arxiv_id: (r.id, r.content_hash) for r in found})

        now = utcnow()
        new = [row for aid, row in unique.items() if aid not in stored]
        candidates = [
            aid
            for aid, row in unique.items()
            if aid in stored and stored[aid][1] != row.content_hash
        ]
        changed: list[dict[str, Any]] = []
        if candidates:
            old = self._papers_by_ids(conn, candidates)
            for aid in candidates:
                merged = paper_row(merge_papers(old[aid], row_to_paper(unique[aid])))
                if merged.content_hash != stored[aid][1]:
                    values = merged._asdict()
                    del values["arxiv_id"]
                    changed.append({**values, "pk": stored[aid][0], "stored_at": now})
        if new:
            self._insert_papers(conn, new, now)
        if changed:
            conn.execute(update(s.papers).where(s.papers.c.id == bindparam("pk")), changed)
        return StoreCounts(
            new=len(new), updated=len(changed), unchanged=len(unique) - len(new) - len(changed)
        )

    def _insert_papers(self, conn: Connection, rows: Sequence[PaperRow], now: datetime) -> None:
        if self.dialect == "sqlite":
            _sqlite_insert(conn, rows, now)
            return
        # RETURNING makes SQLAlchemy send multi-row VALUES statements: see the module doc.
        conn.execute(
            s.papers.insert().returning(s.papers.c.id),
            [{**row._asdict(), "stored_at": now} for row in rows],
        ).all()

    # -- reading ---------------------------------------------------------------------------

    def _papers_by_ids(self, conn: Connection, ids: Sequence[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            rows = conn.execute(
                select(s.papers).where(s.papers.c.arxiv_id.in_(ids[i : i + _LOOKUP_CHUNK]))
            )
            found.update({r.arxiv_id: row_to_paper(r) for r in rows})
        return found

    def get_paper(self, arxiv_id: str) -> Paper | None:
        """The stored paper with this versionless id, or None."""
        with self.read() as conn:
            row = conn.execute(select(s.papers).where(s.papers.c.arxiv_id == arxiv_id)).first()
        return None if row is None else row_to_paper(row)

    def papers_by_ids(self, ids: Sequence[str]) -> list[Paper]:
        """The stored papers among ``ids``, in the order given (unknown ids are left out)."""
        with self.read() as conn:
            found = self._papers_by_ids(conn, list(dict.fromkeys(ids)))
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def count_papers(self) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.papers)).scalar_one())

    def iter_papers(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        batch: int = 1000,
    ) -> Iterator[Paper]:
        """Papers whose first version falls in [since, until], oldest first (undated ones
        first of all when there is no window), read in batches (keyset pagination, so
        memory stays flat over millions of rows)."""
        day = s.papers.c.first_version_at
        last: tuple[Any, int] | None = None
        while True:
            query = select(s.papers).order_by(day.asc().nulls_first(), s.papers.c.id).limit(batch)
            if since is not None:
                query = query.where(day >= since)
            if until is not None:
                query = query.where(day <= until)
            if last is not None:
                last_day, last_id = last
                if last_day is None:
                    query = query.where(
                        (day.is_(None) & (s.papers.c.id > last_id)) | day.is_not(None)
                    )
                else:
                    query = query.where(
                        (day > last_day) | ((day == last_day) & (s.papers.c.id > last_id))
                    )
            with self.read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            yield from (row_to_paper(r) for r in rows)
            last = (rows[-1].first_version_at, rows[-1].id)


__all__ = ["PaperRow", "PapersStorage", "paper_row", "row_to_paper"]
