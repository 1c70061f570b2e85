"""Full-text search on SQLite and PostgreSQL: the two-step statement (rank on the index,
then fetch and highlight the best rows) answers exactly as the plain one-SELECT search,
and the bound on ranked matches keeps the newest ones."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import bindparam, text

from mlradar._arxiv.records import paper_from_snapshot
from mlradar._model import FetchState, ParsedEntry
from mlradar._papers import store_papers
from mlradar._storage import Storage, open_storage
from mlradar._storage._dialects import ITEM_WEIGHTS, PAPER_WEIGHTS
from mlradar._storage._query import parse_query, to_fts5, to_tsquery
from mlradar._storage.schema import UTCDateTime
from tests.storage_support import me

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
QUERIES = [
    "diffusion models",
    "learning",
    '"language models"',
    "graph OR robot",
    "transformer -vision",
    "segment*",
    "segment* -video",
    "transform* OR diffus*",
    '"language model"*',
    "reinforcement learning from human feedback",
    "zzzunknownword",
]


@pytest.fixture
def storage(any_db_url: str) -> Iterator[Storage]:
    s = open_storage(any_db_url)
    # The GIN statement (ts_rank_cd) on PostgreSQL even where RUM is installed: these
    # tests pin its answers exactly; RUM has its own test below.
    s._rum = False
    yield s
    s.engine.dispose()


@pytest.fixture
def corpus(storage: Storage, shared_data: Path) -> Storage:
    """600 real papers and 120 items (three sources, three months of dates)."""
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        papers = [paper_from_snapshot(orjson.loads(line)) for line in itertools.islice(f, 600)]
    store_papers(storage, papers)
    sources = [
        storage.add_source(me(storage), f"https://{n}.org/feed", "feed", name=n) for n in "abc"
    ]
    for k, p in enumerate(papers[:120]):
        src = sources[k % 3]
        body = p.abstract[:400]
        storage.store_entries(
            src.id, [_entry(f"e{k}", p.title, body, NOW - timedelta(days=k))], _fetched()
        )
    return storage


def _entry(key: str, title: str, body: str, published: datetime) -> ParsedEntry:
    fields: dict[str, Any] = {
        "key": key,
        "url": f"https://example.org/{key}",
        "link": f"https://example.org/{key}",
        "title": title,
        "author": None,
        "summary_html": f"<p>{body}</p>",
        "content_html": None,
        "text": body,
        "categories": (),
        "published_at": published,
        "updated_at": None,
        "arxiv_ids": (),
        "dois": (),
    }
    fields["content_hash"] = hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()
    return ParsedEntry(**fields)


def _fetched() -> FetchState:
    return FetchState(NOW, 200, None, NOW + timedelta(hours=1))


def _reference(
    storage: Storage,
    query_text: str,
    kind: str,
    *,
    newest: int | None = None,
    source_ids: list[int] | None = None,
    since: datetime | None = None,
) -> list[tuple[str, float, str]]:
    """The plain statement: every match scored, joined and highlighted in one SELECT.

    ``newest`` keeps only that many newest matches (highest ids) before ranking.
    """
    query = parse_query(query_text)
    table, weights, cols = (
        ("items", ITEM_WEIGHTS, ("title", "author", "text"))
        if kind == "item"
        else ("papers", PAPER_WEIGHTS, ("title", "authors", "abstract"))
    )
    ref = "t.id" if kind == "item" else "t.arxiv_id"
    where: list[str] = []
    params: dict[str, Any] = {}
    if storage.dialect == "sqlite":
        w = ", ".join(str(x) for x in weights)
        score = f"-bm25({table}_fts, {w})"
        snippet = f"snippet({table}_fts, 2, '[', ']', '…', 24)"
        join = f"JOIN {table}_fts ON {table}_fts.rowid = t.id"
        where.append(f"{table}_fts MATCH :q")
        params["q"] = to_fts5(query)
    else:
        wa, wb, wc = (x / max(weights) for x in weights)
        tsq = "to_tsquery('english', :q)"
        score = f"ts_rank_cd('{{0.0, {wc}, {wb}, {wa}}}', t.search_vector, {tsq})"
        snippet = (
            f"ts_headline('english', coalesce(t.{cols[-1]}, ''), {tsq}, "
            "'StartSel=[, StopSel=], MaxWords=24, MinWords=8, MaxFragments=1')"
        )
        join = ""
        where.append(f"t.search_vector @@ {tsq}")
        params["q"] = to_tsquery(query)
    if source_ids is not None:
        where.append("t.source_id IN :source_ids")
        params["source_ids"] = source_ids
    if since is not None:
        if kind == "item":
            where.append("coalesce(t.published_at, t.first_seen_at) >= :since")
            params["since"] = UTCDateTime().process_bind_param(since, None)
        else:
            where.append("t.first_version_at >= :since")
            params["since"] = since.date()
    if newest is not None:
        where.append(
            f"t.id IN (SELECT id FROM (SELECT t.id FROM {table} AS t {join} "
            f"WHERE {' AND '.join(where)} ORDER BY t.id DESC LIMIT {newest}) AS n)"
        )
    sql = text(
        f"SELECT {ref} AS ref, {score} AS score, {snippet} AS snippet FROM {table} AS t {join} "
        f"WHERE {' AND '.join(where)} ORDER BY score DESC, t.id DESC LIMIT 20"
    )
    if source_ids is not None:
        sql = sql.bindparams(bindparam("source_ids", expanding=True))
    with storage.read() as conn:
        rows = conn.execute(sql, params).all()
    return [(str(r.ref), float(r.score), r.snippet or "") for r in rows]


def _hits(found: list[Any]) -> list[tuple[str, float, str]]:
    return [(h.ref, h.score, h.snippet) for h in found]


def _same(got: list[tuple[str, float, str]], want: list[tuple[str, float, str]]) -> None:
    assert [(r, s) for r, _, s in got] == [(r, s) for r, _, s in want]
    assert [x for _, x, _ in got] == pytest.approx([x for _, x, _ in want], rel=1e-6)


def test_two_step_search_answers_as_the_plain_statement(corpus: Storage) -> None:
    for query in QUERIES:
        for kind in ("paper", "item"):
            got = corpus.search(query, kinds=(kind,), rank_limit=None)  # type: ignore[arg-type]
            _same(_hits(got), _reference(corpus, query, kind))
    assert corpus.search("learning", kinds=("paper",), rank_limit=None)  # not vacuous


def test_filters_apply_before_ranking(corpus: Storage) -> None:
    a = corpus.list_sources()[0].id
    since = NOW - timedelta(days=20)
    for query in ("learning", "models", "diffusion models"):
        got = corpus.search(query, kinds=("item",), source_ids=[a], rank_limit=None)
        _same(_hits(got), _reference(corpus, query, "item", source_ids=[a]))
        got = corpus.search(query, kinds=("item",), since=since, rank_limit=None)
        _same(_hits(got), _reference(corpus, query, "item", since=since))
        assert all(h.date is not None and h.date >= since for h in got)
    day = datetime(2025, 3, 20, tzinfo=UTC)
    got = corpus.search("learning", kinds=("paper",), since=day, rank_limit=None)
    assert got
    _same(_hits(got), _reference(corpus, "learning", "paper", since=day))


def test_rank_limit_ranks_the_newest_matches_only(corpus: Storage) -> None:
    for query in ("learning", "models", "graph OR robot"):
        for kind in ("paper", "item"):
            everything = corpus.search(query, kinds=(kind,), rank_limit=None)  # type: ignore[arg-type]
            bounded = corpus.search(query, kinds=(kind,), rank_limit=25)  # type: ignore[arg-type]
            _same(_hits(bounded), _reference(corpus, query, kind, newest=25))
            big = corpus.search(query, kinds=(kind,), rank_limit=100_000)  # type: ignore[arg-type]
            _same(_hits(big), _hits(everything))
    # "learning" matches far more than 25 papers: the bound changes the answer.
    assert _hits(corpus.search("learning", kinds=("paper",), rank_limit=25)) != _hits(
        corpus.search("learning", kinds=("paper",), rank_limit=None)
    )
    # The bound counts the matches that pass the filters.
    a = corpus.list_sources()[0].id
    got = corpus.search("learning", kinds=("item",), source_ids=[a], rank_limit=25)
    _same(_hits(got), _reference(corpus, "learning", "item", source_ids=[a], newest=25))
    # A bound below the number of answers asked for is raised to it.
    assert len(corpus.search("learning", kinds=("paper",), limit=20, rank_limit=5)) == 20


def test_ties_go_to_the_newest_row(storage: Storage) -> None:
    s = storage.add_source(me(storage), "https://a.org/feed", "feed")
    storage.store_entries(
        s.id, [_entry(f"k{i}", "twin title", "same body", NOW) for i in range(5)], _fetched()
    )
    hits = storage.search("twin", rank_limit=None)
    assert len({h.score for h in hits}) == 1
    assert [int(h.ref) for h in hits] == sorted((int(h.ref) for h in hits), reverse=True)


def test_search_dates_survive_the_two_steps(corpus: Storage) -> None:
    hit = corpus.search("learning", kinds=("paper",))[0]
    assert hit.date is not None and hit.date.tzinfo is not None
    assert hit.date.date() >= date(2025, 3, 18)


@pytest.mark.parametrize(
    ("text_", "fts5"),
    [
        ("evaluation and governance", '"evaluation" AND "governance"'),
        ("learning from human feedback", '"learning" AND "human" AND "feedback"'),
        ("The Diffusion", '"Diffusion"'),
        ("the", '"the"'),  # nothing else: kept
        ("the and", '"the" AND "and"'),
        ('"learning from data"', '"learning from data"'),  # a phrase keeps its words
        ("to OR from", '("to" OR "from")'),
        ("the* model", '"the"* AND "model"'),
        ("models -the", '("models") NOT "the"'),
        ("text-to-image", '"text-to-image"'),
    ],
)
def test_function_words_alone_are_dropped(text_: str, fts5: str) -> None:
    assert to_fts5(parse_query(text_)) == fts5


def test_dropping_function_words_keeps_the_answers(corpus: Storage) -> None:
    for with_, without in [
        ("diffusion and models", "diffusion models"),
        ("learning from the data", "learning data"),
    ]:
        got = corpus.search(with_, rank_limit=None)
        assert got and _hits(got) == _hits(corpus.search(without, rank_limit=None))


def test_prefix_queries_dress_the_same_rows_bounded(corpus: Storage) -> None:
    # A prefix query is dressed by one cursor over the best rows' id range (SQLite): the
    # answers are those of the plain statement, bounded or not, with filters too.
    a = corpus.list_sources()[0].id
    for query in ("learn*", "segment* -video", "model* OR network*"):
        for kind in ("paper", "item"):
            got = corpus.search(query, kinds=(kind,), rank_limit=25)  # type: ignore[arg-type]
            assert got
            _same(_hits(got), _reference(corpus, query, kind, newest=25))
        got = corpus.search(query, kinds=("item",), source_ids=[a], rank_limit=25)
        _same(_hits(got), _reference(corpus, query, "item", source_ids=[a], newest=25))


def _paper_titled(title: str, abstract: str, n: int) -> Any:
    return paper_from_snapshot(
        {
            "id": f"2501.{n:05d}",
            "title": title,
            "authors": "A. Author",
            "abstract": abstract,
            "categories": "cs.LG",
            "versions": [{"version": "v1", "created": "Mon, 6 Jan 2025 10:00:00 GMT"}],
            "update_date": "2025-01-06",
        }
    )


def test_hyphenated_and_prefix_queries_find_their_papers(storage: Storage) -> None:
    papers = [
        _paper_titled("Text-to-image diffusion at scale", "We synthesise images.", 1),
        _paper_titled("Model-based reinforcement learning", "A world model plans.", 2),
        _paper_titled("Semantic segmentation of roads", "Segmenting every pixel.", 3),
        _paper_titled("Image to text captioning", "Text from an image, the reverse way.", 4),
        _paper_titled("A model based on trees", "Unrelated to model-free methods.", 5),
    ]
    store_papers(storage, papers)

    def found(q: str) -> list[str]:
        return sorted(h.ref for h in storage.search(q, kinds=("paper",)))

    assert found("text-to-image") == ["2501.00001"]
    assert found("model-based reinforcement") == ["2501.00002"]
    # Each part of a compound still matches on its own.
    assert "2501.00001" in found("image") and "2501.00002" in found("reinforcement")
    assert found("segment*") == ["2501.00003"]
    assert found("segmentation") == ["2501.00003"]
    assert found("segment* -roads") == []
    assert found("reinforce* OR segment*") == ["2501.00002", "2501.00003"]
    hit = storage.search("segment*", kinds=("paper",))[0]
    assert "[" in hit.snippet  # the prefix's match is highlighted


def test_rum_finds_the_same_matches_and_mostly_the_same_best(corpus: Storage) -> None:
    """RUM (PostgreSQL, migration 0012) ranks queries of plain words, OR and NOT: it
    matches exactly what GIN matches, and ranks by its own score (A/B/C weighed
    1.0/0.4/0.2, no cover density), so the order differs from ``ts_rank_cd``'s but the
    best ten share most of their papers.  Phrases and prefixes keep the GIN statement."""
    corpus._rum = None
    if not corpus._fts_rum():
        pytest.skip("RUM ranks only on PostgreSQL with the rum extension")
    overlaps = []
    for query in (
        "learning",
        "diffusion models",
        "graph OR robot",
        "transformer -vision",
        "reinforcement learning from human feedback",
        "models",
    ):
        for kind in ("paper", "item"):
            corpus._rum = True
            rum = corpus.search(query, kinds=(kind,), limit=1000)  # type: ignore[arg-type]
            corpus._rum = False
            gin = corpus.search(query, kinds=(kind,), limit=1000, rank_limit=None)  # type: ignore[arg-type]
            assert {h.ref for h in rum} == {h.ref for h in gin}
            assert [h.score for h in rum] == sorted((h.score for h in rum), reverse=True)
            if len(gin) >= 10:
                top = {h.ref for h in gin[:10]}
                overlaps.append(len(top & {h.ref for h in rum[:10]}) / 10)
    assert overlaps and sum(overlaps) / len(overlaps) >= 0.5, overlaps
    corpus._rum = True
    for query in ('"language models"', "text-to-image", "segment*"):
        corpus._rum = True
        with_rum = _hits(corpus.search(query, kinds=("paper",)))
        corpus._rum = False
        assert with_rum == _hits(corpus.search(query, kinds=("paper",)))  # the GIN path
