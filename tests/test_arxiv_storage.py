"""Paper storage on SQLite and PostgreSQL: upserts, merging, windows, tags, search."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from mlradar._arxiv.records import paper_from_snapshot
from mlradar._model import StoreCounts
from mlradar._papers import store_papers
from mlradar._storage import Storage, open_storage
from mlradar.types import Paper, PaperVersion


@pytest.fixture
def storage(any_db_url: str) -> Iterator[Storage]:
    st = open_storage(any_db_url)
    yield st
    st.close()


def make(arxiv_id: str, day: date, **kw: object) -> Paper:
    base: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "title": f"Paper {arxiv_id}",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("cs.LG", "stat.ML"),
        "abstract": "We study sparse mixtures of experts.",
        "first_version_at": day,
        "updated_at": day,
        "versions": (PaperVersion(1, datetime(day.year, day.month, day.day, 12, tzinfo=UTC)),),
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


def test_upsert_round_trip_and_counts(storage: Storage) -> None:
    full = make(
        "2401.00001",
        date(2024, 1, 2),
        comments="10 pages",
        journal_ref="J. 1",
        doi="10.1/X",
        license="http://creativecommons.org/licenses/by/4.0/",
        submitter="Ada",
        report_no="R-1",
        versions=(
            PaperVersion(1, datetime(2024, 1, 2, 12, tzinfo=UTC)),
            PaperVersion(2, None),
        ),
    )
    other = make("hep-th/9901001", date(1999, 1, 4))
    assert store_papers(storage, [full, other]) == StoreCounts(new=2)
    assert storage.get_paper("2401.00001") == full
    assert storage.get_paper("hep-th/9901001") == other
    assert storage.get_paper("2401.99999") is None
    assert store_papers(storage, [full, other]) == StoreCounts(unchanged=2)

    # A source that knows less (no journal-ref) changes nothing it does not know.
    thin = make("2401.00001", date(2024, 1, 2), versions=(PaperVersion(3, None),))
    assert store_papers(storage, [thin]) == StoreCounts(updated=1)
    merged = storage.get_paper("2401.00001")
    assert merged is not None
    assert merged.journal_ref == "J. 1"
    assert [v.version for v in merged.versions] == [1, 2, 3]
    assert store_papers(storage, [thin]) == StoreCounts(unchanged=1)
    assert storage.count_papers() == 2


def test_a_batch_naming_a_paper_twice_stores_it_once(storage: Storage) -> None:
    a = make("2401.00001", date(2024, 1, 2))
    b = make("2401.00001", date(2024, 1, 2), comments="v2")
    assert store_papers(storage, [a, b, a]) == StoreCounts(new=1)
    stored = storage.get_paper("2401.00001")
    assert stored is not None
    assert stored.comments == "v2"


def test_state_is_written_with_the_batch(storage: Storage) -> None:
    seen: list[StoreCounts] = []

    def state(counts: StoreCounts) -> dict[str, str | None]:
        seen.append(counts)
        return {"k": f"{counts.new}"}

    store_papers(storage, [make("2401.00001", date(2024, 1, 2))], state=state)
    assert seen == [StoreCounts(new=1)]
    assert storage.get_state("k") == "1"
    store_papers(storage, [], state={"k": None})
    assert storage.get_state("k") is None


def test_lookups_and_windows(storage: Storage) -> None:
    days = [date(2024, 1, d) for d in (5, 1, 3, 3, 2)]
    papers = [make(f"2401.0000{i}", d) for i, d in enumerate(days)]
    papers.append(make("2401.00009", date(2024, 1, 1), first_version_at=None))
    store_papers(storage, papers)
    assert [p.arxiv_id for p in storage.papers_by_ids(["2401.00003", "nope", "2401.00001"])] == [
        "2401.00003",
        "2401.00001",
    ]
    window = list(storage.iter_papers(since=date(2024, 1, 2), until=date(2024, 1, 3), batch=1))
    assert [p.arxiv_id for p in window] == ["2401.00004", "2401.00002", "2401.00003"]
    everything = list(storage.iter_papers(batch=2))
    assert len(everything) == 6


def test_imported_papers_are_searchable(storage: Storage, shared_data: Path) -> None:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        papers = [paper_from_snapshot(orjson.loads(line)) for line in itertools.islice(f, 500)]
    assert store_papers(storage, papers).new == 500
    hits = storage.search("prosthetic vision", kinds=("paper",))
    assert hits[0].ref == "2503.11677"
    assert hits[0].url == "https://arxiv.org/abs/2503.11677"
    # Authors are indexed as well.
    assert "2503.11677" in [h.ref for h in storage.search("Palanker", kinds=("paper",))]
