"""Bulk loads (issue 15 §2): the papers' full-text index deferred, caught up, and exact.

A bulk load leaves the index of the rows above a mark to the importer, which indexes them
in id order.  Whatever happens meanwhile (a kill, another writer), the index must be
exactly what maintaining it row by row gives: on SQLite that is checked term by term
against a ``rebuild`` of a copy of the database (fts5vocab), and by comparing search
answers with those of an ordinary import.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from sqlalchemy import create_engine, text

from mlradar._arxiv import importer
from mlradar._arxiv.importer import BULK_MAX_PAPERS, BULK_MIN_BYTES, bulk_load
from mlradar._arxiv.records import paper_from_json
from mlradar._papers import paper_keys, store_papers
from mlradar._radar import Radar, make_radar
from mlradar.types import ImportProgress

QUERIES = (
    "neural network",
    "transformer",
    "graph",
    "language model",
    "learning",
    "optim*",
    '"large language"',
)


def lines_of(shared_data: Path, n: int) -> list[bytes]:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        return list(itertools.islice(f, n))


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"".join(lines)))
    return path


def answers(radar: Radar) -> list[list[tuple[str, float]]]:
    return [
        [(h.ref, round(h.score, 6)) for h in radar._storage.search(q, limit=20, kinds=("paper",))]
        for q in QUERIES
    ]


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def index_terms(db: Path) -> set[tuple[str, int, str, int]]:
    """Every (term, row, column, offset) the papers' FTS5 index holds."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, papers_fts, instance)")
        return set(conn.execute("SELECT term, doc, col, offset FROM temp.v"))


def assert_index_exact(db: Path, tmp_path: Path) -> None:
    """The index passes FTS5's own check and equals a rebuild from the table (of the rows
    up to the mark, while a load is deferred)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES('integrity-check')")
    copy = tmp_path / "rebuilt.sqlite"
    with (
        contextlib.closing(sqlite3.connect(db)) as src,
        contextlib.closing(sqlite3.connect(copy)) as dst,
    ):
        src.backup(dst)
        # While a load is deferred, only the rows up to its mark are to be indexed.
        mark = dst.execute("SELECT value FROM state WHERE key = 'papers_fts.deferred'").fetchone()
        if mark is not None:
            for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
                dst.execute(f"DROP TRIGGER {name}")
            dst.execute("DELETE FROM papers WHERE id > ?", (int(mark[0]),))
        dst.execute("INSERT INTO papers_fts(papers_fts) VALUES('rebuild')")
        dst.commit()
    assert index_terms(db) == index_terms(copy)
    copy.unlink()


def triggers(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'papers'"
        )
        return dict(rows.fetchall())


@pytest.fixture
def radar(any_db_url: str) -> Iterator[Radar]:
    with make_radar(any_db_url) as r:
        yield r


def test_the_bulk_rule() -> None:
    big, small = BULK_MIN_BYTES, BULK_MIN_BYTES - 1
    assert bulk_load(file_bytes=big, stored_papers=0, deferred=False)
    assert bulk_load(file_bytes=big, stored_papers=BULK_MAX_PAPERS - 1, deferred=False)
    assert not bulk_load(file_bytes=big, stored_papers=BULK_MAX_PAPERS, deferred=False)
    assert not bulk_load(file_bytes=small, stored_papers=0, deferred=False)
    # A deferred (killed) load is ended by the next import, whatever it imports.
    assert bulk_load(file_bytes=small, stored_papers=BULK_MAX_PAPERS, deferred=True)


@pytest.mark.parametrize("parallel", [True, False])
def test_a_bulk_load_searches_like_an_ordinary_import(
    shared_data: Path,
    tmp_path: Path,
    any_db_url: str,
    parallel: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small steps: many batches, and the index caught up over several transactions.
    monkeypatch.setattr(importer, "BATCH_SIZE", 200)
    monkeypatch.setattr(importer, "INDEX_FINISH_STEP", 300)
    path = write(tmp_path / "snap.jsonl.gz", lines_of(shared_data, 1500))
    with make_radar(any_db_url) as bulk:
        summary = bulk.import_arxiv_snapshot(path, bulk=True, parallel=parallel, index=False)
        assert summary.new == 1500
        assert not bulk._storage.paper_fts_deferred()
        got = answers(bulk)
    assert all(got), [len(a) for a in got]
    if any_db_url.startswith("sqlite"):
        reference_url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
        with make_radar(reference_url) as ordinary:
            ordinary.import_arxiv_snapshot(path, bulk=False, parallel=parallel, index=False)
            assert got == answers(ordinary)
        db = sqlite_path(any_db_url)
        assert_index_exact(db, tmp_path)
        assert triggers(db) == triggers(sqlite_path(reference_url))
    else:  # PostgreSQL: the same answers as its own ordinary import
        assert got == _pg_reference(path)


def _pg_reference(path: Path) -> list[list[tuple[str, float]]]:
    """Search answers after an ordinary import into a second PostgreSQL database."""
    admin_url = os.environ.get(
        "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"mlradar_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with make_radar(admin_url.rsplit("/", 1)[0] + f"/{name}") as r:
            r.import_arxiv_snapshot(path, bulk=False, index=False)
            found = answers(r)
            r._storage.engine.dispose()
        return found
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_bulk_load_killed_midway_is_ended_by_the_next_import(
    shared_data: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash-safety: a load stopped after it deferred the index leaves an intact
    database whose index is exact up to its mark; writers meanwhile keep it exact; the
    next import, even one the rule would not make a bulk load, ends the deferral."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    lines = lines_of(shared_data, 1200)
    db = sqlite_path(db_url)
    first = write(tmp_path / "first.jsonl.gz", lines[:200])
    path = write(tmp_path / "snap.jsonl.gz", lines[200:])
    seen: list[ImportProgress] = []

    def kill_after_four_batches(p: ImportProgress) -> None:
        seen.append(p)
        if len(seen) == 4:
            raise KeyboardInterrupt  # as a kill would, after four committed batches

    with make_radar(db_url) as radar:
        radar.import_arxiv_snapshot(first, bulk=False, index=False)  # 200 indexed papers
        with pytest.raises(KeyboardInterrupt):
            radar.import_arxiv_snapshot(path, bulk=True, progress=kill_after_four_batches)
        storage = radar._storage
        assert storage.paper_fts_deferred()
        assert storage.count_papers() == 600
        assert_index_exact(db, tmp_path)  # rows above the mark are simply not indexed yet
        assert all("WHEN" in sql for sql in triggers(db).values())
        # Other writers while the load is deferred: an update of a paper below the mark
        # (re-indexed by the trigger), one above it (indexed later as it then stands),
        # a deletion above it, and a new paper.
        below, above = storage.papers_by_ids([_id(lines[5]), _id(lines[450])])
        store_papers(storage, [replace(below, title="quasar zebra"), replace(above, title="zebra")])
        with storage.begin() as conn:
            conn.execute(text("DELETE FROM papers WHERE arxiv_id = :a"), {"a": _id(lines[460])})
        store_papers(storage, [replace(below, title="okapi", arxiv_id="2601.99999", doi=None)])
        assert_index_exact(db, tmp_path)

    # The next import is small and the database no longer nearly empty for the rule's
    # sake: it is still the one that must end the deferred load.
    monkeypatch.setattr(importer, "BULK_MAX_PAPERS", 10)
    with make_radar(db_url) as radar:
        summary = radar.import_arxiv_snapshot(path, index=False)
        assert summary.resumed_at_line == 400
        assert not radar._storage.paper_fts_deferred()
        assert radar._storage.count_papers() == 1200 - 1 + 1  # one deleted, one added
        assert {h.ref for h in radar._storage.search("zebra", kinds=("paper",))} == {
            _id(lines[5]),
            _id(lines[450]),
        }
        assert [h.ref for h in radar._storage.search("okapi", kinds=("paper",))] == ["2601.99999"]
    assert_index_exact(db, tmp_path)
    assert not any("WHEN" in sql for sql in triggers(db).values())


def test_a_kill_while_catching_up_resumes_the_catch_up(
    shared_data: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "INDEX_FINISH_STEP", 100)
    path = write(tmp_path / "snap.jsonl.gz", lines_of(shared_data, 800))
    calls = 0

    with make_radar(db_url) as radar:
        real = radar._storage.index_deferred_papers

        def index_then_die(limit: int) -> int:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise KeyboardInterrupt
            return real(limit)

        monkeypatch.setattr(radar._storage, "index_deferred_papers", index_then_die)
        with pytest.raises(KeyboardInterrupt):
            radar.import_arxiv_snapshot(path, bulk=True, parallel=False, index=False)
        assert radar._storage.paper_fts_deferred()
        with contextlib.closing(sqlite3.connect(sqlite_path(db_url))) as conn:
            indexed = conn.execute("SELECT count(*) FROM papers_fts_docsize").fetchone()[0]
        assert indexed == 200
        assert_index_exact(sqlite_path(db_url), tmp_path)
        monkeypatch.undo()
        radar.import_arxiv_snapshot(path, index=False)
        assert not radar._storage.paper_fts_deferred()
    assert_index_exact(sqlite_path(db_url), tmp_path)


def test_deferring_and_ending_on_both_databases(shared_data: Path, radar: Radar) -> None:
    """Storage alone: the papers stay searchable on PostgreSQL while deferred, and are
    once more after the end on both; a second defer or end is a no-op."""
    storage = radar._storage
    papers = [paper_from_json(orjson.loads(line)) for line in lines_of(shared_data, 300)]
    store_papers(storage, papers[:100])
    storage.defer_paper_fts()
    storage.defer_paper_fts()
    assert storage.paper_fts_deferred()
    store_papers(storage, papers[100:])
    assert storage.index_deferred_papers(150) == (150 if storage.dialect == "sqlite" else 0)
    storage.end_deferred_paper_fts()
    storage.end_deferred_paper_fts()
    assert not storage.paper_fts_deferred()
    hits = {h.ref for h in storage.search(papers[250].title, limit=50, kinds=("paper",))}
    assert papers[250].arxiv_id in hits
    if storage.dialect == "postgresql":
        with storage.read() as conn:
            names = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        assert "ix_papers_search_vector" in names


def _id(line: bytes) -> str:
    value: str = orjson.loads(line)["id"]
    return value


def test_many_new_papers_read_back_as_written(shared_data: Path, radar: Radar) -> None:
    """A batch large enough for PostgreSQL's COPY path reads back field for field, and
    later writes (an update, a fold by DOI) find its rows and identifiers."""
    storage = radar._storage
    papers = [paper_from_json(orjson.loads(line)) for line in lines_of(shared_data, 400)]
    counts = store_papers(storage, papers)
    assert counts.new == 400
    back = storage.papers_by_ids([p.arxiv_id for p in papers])
    assert [replace(p, id=None) for p in back] == papers
    assert storage.paper_ids_for(list(paper_keys(papers[7]))) == {
        k: back[7].id for k in paper_keys(papers[7])
    }
    again = store_papers(storage, [replace(papers[3], title="A new title"), *papers[4:]])
    assert (again.updated, again.unchanged, again.new) == (1, 396, 0)
    assert storage.papers_by_ids([papers[3].arxiv_id])[0].title == "A new title"


def test_progress_names_each_phase_of_a_bulk_load(
    shared_data: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the file is read a bulk load still indexes its papers and syncs the ranking
    index (minutes at full size): the progress callback says so, with the count indexed."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    monkeypatch.setattr(importer, "INDEX_FINISH_STEP", 150)
    path = write(tmp_path / "snap.jsonl.gz", lines_of(shared_data, 400))
    seen: list[ImportProgress] = []
    with make_radar(db_url) as radar:
        radar.import_arxiv_snapshot(path, bulk=True, parallel=False, progress=seen.append)
    phases = [p.phase for p in seen]
    assert phases == ["reading"] * 4 + ["full text"] * 4 + ["ranking index"]
    assert [p.indexed for p in seen if p.phase == "full text"] == [0, 150, 300, 400]
    assert all(p.bytes_done == p.bytes_total for p in seen[4:])
