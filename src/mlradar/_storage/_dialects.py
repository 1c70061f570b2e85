"""Everything that differs between SQLite and PostgreSQL lives here.

Full-text search above all: FTS5 external-content tables kept in sync by triggers in
SQLite; weighted ``tsvector`` generated columns with GIN indexes in PostgreSQL.  The
user's query is parsed once (:mod:`mlradar._storage._query`) and rendered for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlradar._storage._query import Query, to_fts5, to_tsquery

# Title outweighs authors, which outweigh body text.
ITEM_WEIGHTS = (10.0, 3.0, 1.0)
PAPER_WEIGHTS = (10.0, 3.0, 1.0)

_TOKENIZE = "porter unicode61 remove_diacritics 2"


@dataclass(frozen=True)
class FtsSpec:
    table: str
    fts: str
    columns: tuple[str, ...]


ITEMS_FTS = FtsSpec("items", "items_fts", ("title", "author", "text"))
PAPERS_FTS = FtsSpec("papers", "papers_fts", ("title", "authors", "abstract"))
ALL_FTS = (ITEMS_FTS, PAPERS_FTS)


def sqlite_fts_ddl(spec: FtsSpec) -> list[str]:
    cols = ", ".join(spec.columns)
    t, f = spec.table, spec.fts
    return [
        f"CREATE VIRTUAL TABLE {f} USING fts5({cols}, content='{t}', content_rowid='id', "
        f"tokenize='{_TOKENIZE}')",
        *sqlite_fts_triggers(spec),
    ]


def fts_deferred_key(spec: FtsSpec) -> str:
    """The ``state`` key that exists while a bulk load defers the full-text maintenance of
    ``spec.table``: its value is the highest row id the index covers (SQLite), or whether
    the RUM index is to be built again (PostgreSQL)."""
    return f"{spec.fts}.deferred"


def sqlite_fts_triggers(spec: FtsSpec, *, deferred: bool = False) -> list[str]:
    """The triggers that keep an external-content FTS5 table in step with its table.

    A migration that rebuilds the table (SQLite cannot alter a column in place) drops them
    with the old table and must create them again: the index itself stays valid, since
    the rebuilt table keeps every id.

    ``deferred``: the same triggers for rows up to the id the :func:`fts_deferred_key`
    state row holds, and none for rows above it, which a bulk load indexes later in id
    order (``INSERT ... SELECT``, far cheaper than a trigger per row).  So the index is
    exact for those rows at every commit, whoever writes meanwhile: an insert lands above
    the mark (ids only grow; one reusing a deleted top id is at or below it and indexed
    here), and a row above it is indexed as it stands when the load reaches it.
    """
    cols = ", ".join(spec.columns)
    new_vals = ", ".join(f"new.{c}" for c in spec.columns)
    old_vals = ", ".join(f"old.{c}" for c in spec.columns)
    t, f = spec.table, spec.fts
    mark = f"(SELECT CAST(value AS INTEGER) FROM state WHERE key = '{fts_deferred_key(spec)}')"
    when_new = f"WHEN new.id <= {mark} " if deferred else ""
    when_old = f"WHEN old.id <= {mark} " if deferred else ""
    return [
        f"CREATE TRIGGER {t}_fts_ai AFTER INSERT ON {t} {when_new}BEGIN "
        f"INSERT INTO {f}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
        f"CREATE TRIGGER {t}_fts_ad AFTER DELETE ON {t} {when_old}BEGIN "
        f"INSERT INTO {f}({f}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); END",
        # Only re-index when an indexed column changed: fetch-state updates stay cheap.
        f"CREATE TRIGGER {t}_fts_au AFTER UPDATE OF {cols} ON {t} {when_old}BEGIN "
        f"INSERT INTO {f}({f}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); "
        f"INSERT INTO {f}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
    ]


def sqlite_fts_drop_triggers(spec: FtsSpec) -> list[str]:
    t = spec.table
    return [f"DROP TRIGGER IF EXISTS {t}_fts_{suffix}" for suffix in ("ai", "ad", "au")]


def sqlite_fts_index_rows(spec: FtsSpec) -> str:
    """Index the rows with ids in ``(:after, :upto]`` (none of which the index holds)."""
    cols = ", ".join(spec.columns)
    return (
        f"INSERT INTO {spec.fts}(rowid, {cols}) SELECT id, {cols} FROM {spec.table} "
        "WHERE id > :after AND id <= :upto ORDER BY id"
    )


def sqlite_fts_drop(spec: FtsSpec) -> list[str]:
    return [*sqlite_fts_drop_triggers(spec), f"DROP TABLE IF EXISTS {spec.fts}"]


def postgres_fts_ddl(spec: FtsSpec) -> list[str]:
    weights = "ABC"
    parts = " || ".join(
        f"setweight(to_tsvector('english', coalesce({c}, '')), '{w}')"
        for c, w in zip(spec.columns, weights, strict=True)
    )
    return [
        f"ALTER TABLE {spec.table} ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({parts}) STORED",
        f"CREATE INDEX ix_{spec.table}_search_vector ON {spec.table} USING gin (search_vector)",
    ]


def postgres_rum_index(spec: FtsSpec) -> str:
    """The name of the optional RUM index on ``spec.table``'s search vector."""
    return f"ix_{spec.table}_search_rum"


def postgres_rum_ddl(spec: FtsSpec) -> list[str]:
    """A RUM index (the ``rum`` extension) beside the GIN one: it keeps each entry's
    positions, so it ranks matches inside the index and reads only the best rows
    (``ORDER BY search_vector <=> query LIMIT k``)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {postgres_rum_index(spec)} ON {spec.table} "
        "USING rum (search_vector rum_tsvector_ops)"
    ]


def postgres_search_index_ddl(spec: FtsSpec, *, rum: bool) -> list[str]:
    """The search indexes of ``spec.table`` (GIN, and RUM when ``rum``), built anew after a
    bulk load dropped them: one sort of every vector beats inserting row by row."""
    return [
        f"CREATE INDEX IF NOT EXISTS ix_{spec.table}_search_vector ON {spec.table} "
        "USING gin (search_vector)",
        *(postgres_rum_ddl(spec) if rum else []),
    ]


def postgres_fts_drop(spec: FtsSpec) -> list[str]:
    return [
        f"DROP INDEX IF EXISTS ix_{spec.table}_search_vector",
        f"ALTER TABLE {spec.table} DROP COLUMN IF EXISTS search_vector",
    ]


def fts_ddl(dialect: str) -> list[str]:
    make = sqlite_fts_ddl if dialect == "sqlite" else postgres_fts_ddl
    return [stmt for spec in ALL_FTS for stmt in make(spec)]


def fts_drop(dialect: str) -> list[str]:
    drop = sqlite_fts_drop if dialect == "sqlite" else postgres_fts_drop
    return [stmt for spec in ALL_FTS for stmt in drop(spec)]


@dataclass(frozen=True)
class FtsSearch:
    """A rendered full-text search: one SQL statement and its bound parameters.

    The statement returns the caller's ``columns`` plus ``score`` (higher is better) and
    ``snippet`` (a highlighted excerpt) for at most ``:limit`` rows, best first.
    """

    sql: str
    params: dict[str, Any]


def fts_search(
    dialect: str,
    spec: FtsSpec,
    query: Query,
    weights: tuple[float, ...],
    *,
    columns: str,
    joins: str = "",
    filters: Sequence[str] = (),
    rank_limit: int | None = None,
    rum: bool = False,
) -> FtsSearch:
    """Rank the matches of ``query`` in ``spec.table``, then dress the best few.

    Ranking runs over the full-text index alone (plus the content table only when
    ``filters`` need it); the columns, the joins and the snippet, which cost far more per
    row than the score, are computed for the ``:limit`` best rows only.  ``columns``,
    ``joins`` and ``filters`` refer to the content table as ``t``.

    ``rank_limit`` bounds the work of a query that matches a large part of the corpus:
    only the ``rank_limit`` most recently stored matches (highest ids) are ranked.
    Ties in score go to the newer row, so the order is deterministic.

    ``rum`` (PostgreSQL with the ``rum`` extension's index, see :func:`postgres_rum_ddl`)
    ranks every match inside the index by RUM's own score, ``1 / (vector <=> query)``:
    no bound is needed, and ``rank_limit`` and ``weights`` do not apply (RUM weighs the
    A/B/C parts as 1.0/0.4/0.2, close to the 1.0/0.3/0.1 used otherwise).  Only for
    plain words, OR and NOT: with a phrase (``<->``) or a prefix, RUM 1.3.13's index
    returns matches out of its own order (at 75k papers ``'languag' <-> 'model'`` gives
    scores 1.28, 0.24, 1.28, 1.32...; every prefix query differed from the same
    operator computed on the rows), so those keep the GIN statement.
    """
    if dialect == "sqlite":
        return _sqlite_search(spec, query, weights, columns, joins, filters, rank_limit)
    if rum and not query.has_phrase and not query.has_prefix:
        return _postgres_rum_search(spec, query, columns, joins, filters)
    return _postgres_search(spec, query, weights, columns, joins, filters, rank_limit)


def _sqlite_search(
    spec: FtsSpec,
    query: Query,
    weights: tuple[float, ...],
    columns: str,
    joins: str,
    filters: Sequence[str],
    rank_limit: int | None,
) -> FtsSearch:
    f, table = spec.fts, spec.table
    # CROSS JOIN fixes the loop order: the full-text index outside, the table probed by id.
    source = f + (f" CROSS JOIN {table} AS t ON t.id = {f}.rowid" if filters else "")
    where = " AND ".join([f"{f} MATCH :q", *filters])
    params: dict[str, Any] = {"q": to_fts5(query)}
    w = ", ".join(str(x) for x in weights)
    # bm25 is lower-is-better; negate so every dialect sorts descending.
    scored = f"SELECT {f}.rowid AS id, -bm25({f}, {w}) AS score FROM {source} WHERE {where}"
    if rank_limit is None:
        ranked = f"{scored} ORDER BY score DESC, {f}.rowid DESC LIMIT :limit"
    else:
        # The index walks its matches newest first and stops after rank_limit of them:
        # one pass, and bm25 computed for those rows only.
        ranked = (
            f"SELECT id, score FROM ({scored} ORDER BY {f}.rowid DESC LIMIT :rank_limit) "
            "ORDER BY score DESC, id DESC LIMIT :limit"
        )
        params["rank_limit"] = rank_limit
    snippet = f"snippet({f}, {len(spec.columns) - 1}, '[', ']', '…', 24)"
    if not query.has_prefix:
        # snippet() needs its row found through MATCH: the rowid constraint makes that a seek.
        sql = (
            f"SELECT {columns}, top.score AS score, {snippet} AS snippet "
            f"FROM ({ranked}) AS top CROSS JOIN {table} AS t CROSS JOIN {f} {joins} "
            f"WHERE t.id = top.id AND {f}.rowid = top.id AND {f} MATCH :q "
            "ORDER BY top.score DESC, top.id DESC"
        )
        return FtsSearch(sql, params)
    # A prefix term is expanded (every matching term's postings merged) at each start of
    # an FTS5 cursor, so twenty seeks cost twenty merges: ~70 ms for `segment*` at 1M
    # papers, against ~20 ms for the ranking itself.  One cursor over the best rows' id
    # range merges once; `+rowid` keeps the IN list from becoming one seek per id.
    dressed = (
        f"SELECT {f}.rowid AS id, {snippet} AS snippet FROM {f} WHERE {f} MATCH :q "
        f"AND {f}.rowid BETWEEN (SELECT min(id) FROM top) AND (SELECT max(id) FROM top) "
        f"AND +{f}.rowid IN (SELECT id FROM top)"
    )
    sql = (
        f"WITH top AS MATERIALIZED ({ranked}), dressed AS MATERIALIZED ({dressed}) "
        f"SELECT {columns}, top.score AS score, dressed.snippet AS snippet "
        f"FROM top CROSS JOIN {table} AS t CROSS JOIN dressed {joins} "
        "WHERE t.id = top.id AND dressed.id = top.id "
        "ORDER BY top.score DESC, top.id DESC"
    )
    return FtsSearch(sql, params)


def _postgres_search(
    spec: FtsSpec,
    query: Query,
    weights: tuple[float, ...],
    columns: str,
    joins: str,
    filters: Sequence[str],
    rank_limit: int | None,
) -> FtsSearch:
    table = spec.table
    tsq = "to_tsquery('english', :q)"
    where = " AND ".join([f"t.search_vector @@ {tsq}", *filters])
    params: dict[str, Any] = {"q": to_tsquery(query)}
    # ts_rank_cd weights are {D, C, B, A}.
    wa, wb, wc = (x / max(weights) for x in weights)
    score = f"ts_rank_cd('{{0.0, {wc}, {wb}, {wa}}}', t.search_vector, {tsq})"
    scored = f"SELECT t.id AS id, {score} AS score FROM {table} AS t WHERE {where}"
    if rank_limit is None:
        ranked = f"{scored} ORDER BY score DESC, t.id DESC LIMIT :limit"
    else:
        ranked = (
            f"SELECT id, score FROM ({scored} ORDER BY t.id DESC LIMIT :rank_limit) AS newest "
            "ORDER BY score DESC, id DESC LIMIT :limit"
        )
        params["rank_limit"] = rank_limit
    snippet = _postgres_headline(spec, tsq)
    sql = (
        f"SELECT {columns}, top.score AS score, {snippet} AS snippet "
        f"FROM ({ranked}) AS top JOIN {table} AS t ON t.id = top.id {joins} "
        "ORDER BY top.score DESC, top.id DESC"
    )
    return FtsSearch(sql, params)


def _postgres_headline(spec: FtsSpec, tsq: str) -> str:
    return (
        f"ts_headline('english', coalesce(t.{spec.columns[-1]}, ''), {tsq}, "
        "'StartSel=[, StopSel=], MaxWords=24, MinWords=8, MaxFragments=1')"
    )


def _postgres_rum_search(
    spec: FtsSpec, query: Query, columns: str, joins: str, filters: Sequence[str]
) -> FtsSearch:
    table = spec.table
    tsq = "to_tsquery('english', :q)"
    where = " AND ".join([f"t.search_vector @@ {tsq}", *filters])
    # The ORDER BY must be the distance alone for the index to return rows in its order
    # (a second key makes the planner sort every match); ties are ordered after the LIMIT.
    ranked = (
        f"SELECT t.id AS id, t.search_vector <=> {tsq} AS distance FROM {table} AS t "
        f"WHERE {where} ORDER BY t.search_vector <=> {tsq} LIMIT :limit"
    )
    sql = (
        f"SELECT {columns}, 1.0 / top.distance AS score, {_postgres_headline(spec, tsq)} "
        f"AS snippet FROM ({ranked}) AS top JOIN {table} AS t ON t.id = top.id {joins} "
        "ORDER BY top.distance, top.id DESC"
    )
    return FtsSearch(sql, {"q": to_tsquery(query)})
