"""Papers: batched writes decided elsewhere (the bulk-import path), lookups and windows.

Which stored paper an incoming record is, and what the two make together, is decided by
the domain (:mod:`mlradar._papers`), handed in as a function: this module finds the
candidates, hands them over inside the transaction, and writes the plan it gets back.

The write path is tuned for the bulk snapshot import (millions of rows, full-text indexed
by triggers).  Two measured facts shape it:

* new rows go in as multi-row ``INSERT ... VALUES (...), (...)`` statements, not as an
  ``executemany`` of one-row statements.  SQLite's FTS5 flushes its pending index data at
  every statement boundary inside a trigger, so one statement per row makes the index in
  tiny segments that must then be merged: on the real snapshot this alone halves the
  throughput;
* an incoming record whose hash equals the stored one costs one indexed lookup and
  nothing else, so re-importing an unchanged file is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import sqlite

from mlradar._model import (
    PAPER_COLUMNS,
    PaperPlan,
    PaperRow,
    StoreCounts,
    StoredPaper,
    paper_from_columns,
)
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow
from mlradar.types import Paper, PaperId

#: State entries to write with a batch: fixed, or made from the batch's counts.
StateUpdate = Mapping[str, str | None] | Callable[[StoreCounts], Mapping[str, str | None]]
#: Reads the full rows (with their keys) of stored papers, inside the write transaction.
RowLoader = Callable[[Sequence[int]], Mapping[int, PaperRow]]
#: Decides what a batch of incoming rows comes to (see mlradar._papers.plan_paper_writes).
PaperDecider = Callable[
    [Sequence[PaperRow], Mapping[PaperId, int], Mapping[int, StoredPaper], RowLoader],
    PaperPlan,
]

#: Ids per ``IN (...)`` lookup: far below every dialect's bound-parameter limit.
_LOOKUP_CHUNK = 900
#: Library tables whose rows refer to papers by id (``kind = 'paper'``).
_LIBRARY_TABLES = (s.user_tags, s.user_reactions, s.user_reads)


def _chunks(values: Sequence[Any], size: int = _LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def row_to_paper(row: Row[Any]) -> Paper:
    """The record of a ``papers`` database row."""
    return paper_from_columns(row, int(row.id))


#: Rows per INSERT statement in SQLite: 23 parameters each, far below its 32766 limit.
_SQLITE_ROWS_PER_STATEMENT = 500


def _sqlite_insert(conn: Connection, rows: Sequence[PaperRow], now: datetime) -> dict[str, int]:
    """Multi-row INSERTs bound by the driver directly: the bulk import's hot path.

    The values are converted here exactly as SQLAlchemy's SQLite types store them (dates
    as ISO text, timestamps as naive UTC text), so rows read back the same either way.
    Returns the new ids by content hash (distinct within a batch: see
    :func:`mlradar._papers.plan_paper_writes`).
    """
    day = sqlite.DATE().bind_processor(conn.dialect)  # type: ignore[no-untyped-call]
    stamp = sqlite.DATETIME().bind_processor(conn.dialect)  # type: ignore[no-untyped-call]
    assert day is not None
    assert stamp is not None
    stored_at = stamp(now.astimezone(UTC).replace(tzinfo=None))
    columns = (*PAPER_COLUMNS, "stored_at", "stub")
    one = "(" + ",".join("?" * len(columns)) + ")"
    head = f"INSERT INTO papers ({','.join(columns)}) VALUES "
    first, last = PAPER_COLUMNS.index("first_version_at"), PAPER_COLUMNS.index("updated_at")
    statements: dict[int, str] = {}
    ids: dict[str, int] = {}
    for part in _chunks(rows, _SQLITE_ROWS_PER_STATEMENT):
        params: list[Any] = []
        for row in part:
            values = list(row[: len(PAPER_COLUMNS)])
            values[first] = day(row.first_version_at)
            values[last] = day(row.updated_at)
            params.extend(values)
            params.append(stored_at)
            params.append(0)
        sql = statements.get(len(part))
        if sql is None:
            sql = statements[len(part)] = (
                head + ",".join([one] * len(part)) + " RETURNING id, content_hash"
            )
        ids.update({h: int(i) for i, h in conn.exec_driver_sql(sql, tuple(params)).all()})
    return ids


#: From this many new rows on, PostgreSQL gets them by COPY.
_COPY_MIN_ROWS = 100


def _postgres_copy(conn: Connection, rows: Sequence[PaperRow], now: datetime) -> dict[str, int]:
    """New rows by COPY, under ids drawn from the table's sequence beforehand: the bulk
    import's path on PostgreSQL.  A multi-row INSERT of 1,000 rows is a statement of
    23,000 placeholders that the driver scans and splits on the client (measured: most
    of the importer's CPU); COPY sends the values alone.  Returns the new ids by content
    hash, as :func:`_sqlite_insert` does."""
    ids = [
        int(i)
        for i in conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('papers', 'id')) FROM generate_series(1, %(n)s)",
            {"n": len(rows)},
        ).scalars()
    ]
    stored_at = now.astimezone(UTC).replace(tzinfo=None)  # stored naive, as UTCDateTime does
    columns = ",".join(("id", *PAPER_COLUMNS, "stored_at", "stub"))
    width = len(PAPER_COLUMNS)
    raw: Any = conn.connection.driver_connection  # the psycopg connection, in this transaction
    with raw.cursor() as cur, cur.copy(f"COPY papers ({columns}) FROM STDIN") as copy:
        for pid, row in zip(ids, rows, strict=True):
            copy.write_row((pid, *row[:width], stored_at, False))
    return {row.content_hash: pid for pid, row in zip(ids, rows, strict=True)}


class PapersStorage(StorageBase):
    # -- writing ---------------------------------------------------------------------------

    def upsert_paper_rows(
        self,
        rows: Iterable[PaperRow],
        *,
        decide: PaperDecider,
        state: StateUpdate | None = None,
    ) -> StoreCounts:
        """Write a batch of incoming paper rows as ``decide`` plans it: one transaction.

        ``decide`` gets the rows, which stored paper holds each of their identifiers, what
        is stored of those, and a loader for their full rows.  ``state`` entries (an import
        checkpoint), or the entries a callable makes of this batch's counts, are written
        in the same transaction, so a checkpoint never runs ahead of the data nor lags
        behind it.
        """
        incoming = list(rows)
        with self.begin() as conn:
            counts = StoreCounts()
            if incoming:
                keys = list(dict.fromkeys(k for r in incoming for k in r.keys))
                matches = self._match_keys(conn, keys)
                matches.update(self._match_titles(conn, incoming, matches))
                stored = self._stored(conn, sorted(set(matches.values())))

                def load(ids: Sequence[int]) -> Mapping[int, PaperRow]:
                    return self._paper_rows(conn, ids)

                plan = decide(incoming, matches, stored, load)
                self._apply(conn, plan)
                counts = plan.counts
            entries = state(counts) if callable(state) else state
            for key, value in (entries or {}).items():
                self.set_state(key, value, conn)
        return counts

    def _match_keys(self, conn: Connection, keys: Sequence[PaperId]) -> dict[PaperId, int]:
        ids = s.paper_ids
        found: dict[PaperId, int] = {}
        arxiv = [k.value for k in keys if k.scheme == "arxiv"]
        # The arXiv ids (all of a bulk import's keys but the DOIs) through the papers
        # table's own unique index: one narrow lookup instead of a composite one.
        for chunk in _chunks(arxiv):
            rows = conn.execute(
                select(s.papers.c.arxiv_id, s.papers.c.id).where(s.papers.c.arxiv_id.in_(chunk))
            )
            found.update({PaperId("arxiv", r.arxiv_id): int(r.id) for r in rows})
        others = [k for k in keys if k.scheme != "arxiv"]
        for chunk in _chunks(others, _LOOKUP_CHUNK // 2):
            rows = conn.execute(
                select(ids.c.scheme, ids.c.value, ids.c.paper_id).where(
                    tuple_(ids.c.scheme, ids.c.value).in_([tuple(k) for k in chunk])
                )
            )
            found.update({PaperId(r.scheme, r.value): int(r.paper_id) for r in rows})
        return found

    def _match_titles(
        self, conn: Connection, rows: Sequence[PaperRow], matches: Mapping[PaperId, int]
    ) -> dict[PaperId, int]:
        """The stored paper under each title key (``PaperId("title", key)``) of the rows
        that no identifier matched, the oldest when several share it; whether that makes
        them one paper is the decider's call.

        A record with an arXiv id looks only among papers without one (another arXiv
        paper of that title is another paper), so re-importing a snapshot costs nothing
        here and a first import one narrow indexed lookup per chunk.
        """
        p = s.papers.c
        weak: dict[str, None] = {}
        on_arxiv: dict[str, None] = {}
        for row in rows:
            if not row.title_key or any(k in matches for k in row.keys):
                continue
            (on_arxiv if row.arxiv_id else weak).setdefault(row.title_key, None)
        if on_arxiv and not self._has_papers_off_arxiv(conn):
            on_arxiv = {}  # an arXiv-only database (a bulk import's): nothing to look for
        found: dict[PaperId, int] = {}
        for wanted, only_off_arxiv in (
            ([t for t in on_arxiv if t not in weak], True),
            (list(weak), False),
        ):
            for chunk in _chunks(wanted):
                query = (
                    select(p.title_key, func.min(p.id).label("id"))
                    .where(p.title_key.in_(chunk), p.stub.is_(False))
                    .group_by(p.title_key)
                )
                if only_off_arxiv:
                    query = query.where(p.arxiv_id.is_(None))
                for r in conn.execute(query):
                    found[PaperId("title", r.title_key)] = int(r.id)
        return found

    def _has_papers_off_arxiv(self, conn: Connection) -> bool:
        # The unique index on arxiv_id holds the NULLs too: one index probe.
        p = s.papers.c
        query = select(p.id).where(p.arxiv_id.is_(None), p.stub.is_(False)).limit(1)
        return conn.execute(query).first() is not None

    def _keys_of(self, conn: Connection, paper_ids: Sequence[int]) -> dict[int, list[PaperId]]:
        ids = s.paper_ids
        out: dict[int, list[PaperId]] = {i: [] for i in paper_ids}
        for chunk in _chunks(paper_ids):
            rows = conn.execute(
                select(ids.c.paper_id, ids.c.scheme, ids.c.value)
                .where(ids.c.paper_id.in_(chunk))
                .order_by(ids.c.paper_id, ids.c.scheme, ids.c.value)
            )
            for r in rows:
                out[int(r.paper_id)].append(PaperId(r.scheme, r.value))
        return out

    def _stored(self, conn: Connection, paper_ids: Sequence[int]) -> dict[int, StoredPaper]:
        keys = self._keys_of(conn, paper_ids)
        out: dict[int, StoredPaper] = {}
        p = s.papers
        for chunk in _chunks(paper_ids):
            rows = conn.execute(select(p.c.id, p.c.content_hash, p.c.stub).where(p.c.id.in_(chunk)))
            for r in rows:
                pid = int(r.id)
                out[pid] = StoredPaper(pid, str(r.content_hash), tuple(keys[pid]), bool(r.stub))
        return out

    def _paper_rows(self, conn: Connection, paper_ids: Sequence[int]) -> dict[int, PaperRow]:
        keys = self._keys_of(conn, paper_ids)
        out: dict[int, PaperRow] = {}
        cols = [s.papers.c[name] for name in PAPER_COLUMNS]
        for chunk in _chunks(paper_ids):
            for r in conn.execute(select(s.papers.c.id, *cols).where(s.papers.c.id.in_(chunk))):
                pid = int(r.id)
                values = [getattr(r, name) for name in PAPER_COLUMNS]
                first = PAPER_COLUMNS.index("first_version_at")
                values[first] = _day(values[first])
                values[first + 1] = _day(values[first + 1])
                out[pid] = PaperRow._make([*values, tuple(keys[pid])])
        return out

    def _apply(self, conn: Connection, plan: PaperPlan) -> None:
        now = utcnow()
        key_rows: list[dict[str, Any]] = []
        # Folds first: the paper that stays may take over the arXiv id of one that goes.
        for away, keep in plan.folds:
            self._fold(conn, away, keep)
        if plan.inserts:
            new_ids = self._insert_papers(conn, plan.inserts, now)
            for row in plan.inserts:
                pid = new_ids[row.content_hash]
                key_rows += [{"scheme": k.scheme, "value": k.value, "pid": pid} for k in row.keys]
        if plan.updates:
            values: list[dict[str, Any]] = []
            for pid, row in plan.updates:
                cols = dict(zip(PAPER_COLUMNS, row[: len(PAPER_COLUMNS)], strict=True))
                values.append({**cols, "pk": pid, "stored_at": now, "stub": False})
                key_rows += [{"scheme": k.scheme, "value": k.value, "pid": pid} for k in row.keys]
            conn.execute(update(s.papers).where(s.papers.c.id == bindparam("pk")), values)
        if key_rows:
            self._add_paper_keys(conn, key_rows)

    def _add_paper_keys(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Record identifiers; one already recorded (for this paper: the plan never gives a
        paper another's key) is left as it is."""
        values: dict[str, Any] = {
            "scheme": bindparam("scheme"),
            "value": bindparam("value"),
            "paper_id": bindparam("pid"),
        }
        stmt: Any
        if self.dialect == "sqlite":
            stmt = sqlite.insert(s.paper_ids).values(values).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects import postgresql  # not paid for by SQLite users

            stmt = postgresql.insert(s.paper_ids).values(values).on_conflict_do_nothing()
        conn.execute(stmt, list(rows))

    def _fold(self, conn: Connection, away: int, keep: int) -> None:
        """Make paper ``away`` part of paper ``keep``: identifiers and library entries move
        over (an entry the user already has on ``keep`` wins), then ``away`` is deleted."""
        conn.execute(
            update(s.paper_ids).where(s.paper_ids.c.paper_id == away).values(paper_id=keep)
        )
        for table in _LIBRARY_TABLES:
            key = [c for c in table.primary_key.columns if c.name not in ("kind", "ref")]
            kept = select(*key).where(table.c.kind == "paper", table.c.ref == str(keep))
            conn.execute(
                delete(table).where(
                    table.c.kind == "paper",
                    table.c.ref == str(away),
                    tuple_(*[table.c[c.name] for c in key]).in_(kept),
                )
            )
            conn.execute(
                update(table)
                .where(table.c.kind == "paper", table.c.ref == str(away))
                .values(ref=str(keep))
            )
        conn.execute(delete(s.papers).where(s.papers.c.id == away))

    def _insert_papers(
        self, conn: Connection, rows: Sequence[PaperRow], now: datetime
    ) -> dict[str, int]:
        if self.dialect == "sqlite":
            return _sqlite_insert(conn, rows, now)
        if len(rows) >= _COPY_MIN_ROWS:
            return _postgres_copy(conn, rows, now)
        # RETURNING makes SQLAlchemy send multi-row VALUES statements: see the module doc.
        result = conn.execute(
            s.papers.insert().returning(
                s.papers.c.id, s.papers.c.content_hash, sort_by_parameter_order=True
            ),
            [
                {**dict(zip(PAPER_COLUMNS, row, strict=False)), "stored_at": now, "stub": False}
                for row in rows
            ],
        )
        return {str(h): int(i) for i, h in result.all()}

    def ensure_paper(self, key: PaperId) -> int:
        """The id of the paper known by ``key``; a *stub* (a paper known by that
        identifier only, until its record arrives) when none is stored yet."""
        with self.begin() as conn:
            found = self._match_keys(conn, [key])
            if key in found:
                return found[key]
            result = conn.execute(
                insert(s.papers).values(
                    arxiv_id=key.value if key.scheme == "arxiv" else None,
                    doi=key.value if key.scheme == "doi" else None,
                    title="",
                    authors="[]",
                    categories="",
                    abstract="",
                    versions="[]",
                    content_hash="",
                    stored_at=utcnow(),
                    stub=True,
                )
            )
            pid = int(result.inserted_primary_key[0])  # type: ignore[index]
            self._add_paper_keys(conn, [{"scheme": key.scheme, "value": key.value, "pid": pid}])
        return pid

    # -- reading ---------------------------------------------------------------------------

    def paper_ids_for(self, keys: Sequence[PaperId]) -> dict[PaperId, int]:
        """Which stored paper (stubs included) holds each of ``keys``."""
        with self.read() as conn:
            return self._match_keys(conn, list(dict.fromkeys(keys)))

    def _papers_where(self, conn: Connection, column: Any, values: Sequence[Any]) -> list[Paper]:
        out: list[Paper] = []
        for chunk in _chunks(values):
            rows = conn.execute(
                select(s.papers).where(column.in_(chunk), s.papers.c.stub.is_(False))
            )
            out += [row_to_paper(r) for r in rows]
        return out

    def get_paper(self, ref: int | str | PaperId) -> Paper | None:
        """The stored record of paper ``ref`` (its id, its versionless arXiv id, or any
        identifier), or None (also for a stub: nothing is stored of it but an identifier)."""
        if isinstance(ref, int):
            return self.paper_records([ref]).get(ref)
        key = PaperId("arxiv", ref) if isinstance(ref, str) else ref
        return self.papers_by_keys([key]).get(key)

    def paper_records(self, ids: Sequence[int]) -> dict[int, Paper]:
        """The stored records among the papers ``ids`` (stubs and unknown ids left out)."""
        with self.read() as conn:
            found = self._papers_where(conn, s.papers.c.id, list(dict.fromkeys(ids)))
        return {p.id: p for p in found if p.id is not None}

    def papers_by_keys(self, keys: Sequence[PaperId]) -> dict[PaperId, Paper]:
        """The stored record of each identifier in ``keys`` that a stored paper holds."""
        holders = self.paper_ids_for(keys)
        found = self.paper_records(sorted(set(holders.values())))
        return {k: found[pid] for k, pid in holders.items() if pid in found}

    def papers_by_ids(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        """The stored papers among the versionless arXiv ids given, in that order."""
        wanted = list(dict.fromkeys(arxiv_ids))
        with self.read() as conn:
            found = {p.arxiv_id: p for p in self._papers_where(conn, s.papers.c.arxiv_id, wanted)}
        return [found[i] for i in wanted if i in found]

    def count_papers(self, *, upto: int | None = None) -> int:
        """Stored papers (stubs left out); counting stops at ``upto`` when given, so that
        asking "fewer than N?" of millions of rows reads N of them, not all."""
        query = select(s.papers.c.id).where(s.papers.c.stub.is_(False))
        if upto is not None:
            query = query.limit(upto)
        with self.read() as conn:
            return int(
                conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            )

    def iter_papers(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        batch: int = 1000,
    ) -> Iterator[Paper]:
        """Papers whose first version falls in [since, until], oldest first (undated ones
        first of all when there is no window), read in batches (keyset pagination, so
        memory stays flat over millions of rows).  Stubs are left out."""
        day = s.papers.c.first_version_at
        last: tuple[Any, int] | None = None
        while True:
            query = (
                select(s.papers)
                .where(s.papers.c.stub.is_(False))
                .order_by(day.asc().nulls_first(), s.papers.c.id)
                .limit(batch)
            )
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


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


__all__ = ["PaperDecider", "PapersStorage", "RowLoader", "StateUpdate", "row_to_paper"]
