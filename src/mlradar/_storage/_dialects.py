"""Everything that differs between SQLite and PostgreSQL lives here.

Full-text search above all: FTS5 external-content tables kept in sync by triggers in
SQLite; weighted ``tsvector`` generated columns with GIN indexes in PostgreSQL.  The
user's query is parsed once (:mod:`mlradar._storage._query`) and rendered for each.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    new_vals = ", ".join(f"new.{c}" for c in spec.columns)
    old_vals = ", ".join(f"old.{c}" for c in spec.columns)
    t, f = spec.table, spec.fts
    return [
        f"CREATE VIRTUAL TABLE {f} USING fts5({cols}, content='{t}', content_rowid='id', "
        f"tokenize='{_TOKENIZE}')",
        f"CREATE TRIGGER {t}_fts_ai AFTER INSERT ON {t} BEGIN "
        f"INSERT INTO {f}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
        f"CREATE TRIGGER {t}_fts_ad AFTER DELETE ON {t} BEGIN "
        f"INSERT INTO {f}({f}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); END",
        # Only re-index when an indexed column changed: fetch-state updates stay cheap.
        f"CREATE TRIGGER {t}_fts_au AFTER UPDATE OF {cols} ON {t} BEGIN "
        f"INSERT INTO {f}({f}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); "
        f"INSERT INTO {f}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
    ]


def sqlite_fts_drop(spec: FtsSpec) -> list[str]:
    t = spec.table
    return [
        f"DROP TRIGGER IF EXISTS {t}_fts_ai",
        f"DROP TRIGGER IF EXISTS {t}_fts_ad",
        f"DROP TRIGGER IF EXISTS {t}_fts_au",
        f"DROP TABLE IF EXISTS {spec.fts}",
    ]


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
class FtsMatch:
    """A rendered full-text condition: SQL fragments plus their bound parameters.

    ``join`` goes after ``FROM <table> AS t``; ``where`` restricts to matches; ``score``
    is higher-is-better; ``snippet`` is an SQL expression for a highlighted excerpt.
    """

    join: str
    where: str
    score: str
    snippet: str
    params: dict[str, str]


def fts_match(dialect: str, spec: FtsSpec, query: Query, weights: tuple[float, ...]) -> FtsMatch:
    if dialect == "sqlite":
        w = ", ".join(str(x) for x in weights)
        snippet_col = len(spec.columns) - 1
        return FtsMatch(
            join=f"JOIN {spec.fts} ON {spec.fts}.rowid = t.id",
            where=f"{spec.fts} MATCH :q",
            # bm25 is lower-is-better; negate so every dialect sorts descending.
            score=f"-bm25({spec.fts}, {w})",
            snippet=f"snippet({spec.fts}, {snippet_col}, '[', ']', '…', 24)",
            params={"q": to_fts5(query)},
        )
    # PostgreSQL: ts_rank_cd weights are {D, C, B, A}.
    wa, wb, wc = (x / max(weights) for x in weights)
    text_col = spec.columns[-1]
    return FtsMatch(
        join="",
        where="t.search_vector @@ to_tsquery('english', :q)",
        score=(
            f"ts_rank_cd('{{0.0, {wc}, {wb}, {wa}}}', t.search_vector, to_tsquery('english', :q))"
        ),
        snippet=(
            f"ts_headline('english', coalesce(t.{text_col}, ''), "
            "to_tsquery('english', :q), "
            "'StartSel=[, StopSel=], MaxWords=24, MinWords=8, MaxFragments=1')"
        ),
        params={"q": to_tsquery(query)},
    )
