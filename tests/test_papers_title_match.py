"""An accepted paper without an arXiv id is the arXiv paper of its title and first author:
the pure decision, then storage on both databases, in either order of arrival."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import pytest

from mlradar._model import PaperPlan, PaperRow, StoreCounts, StoredPaper
from mlradar._papers import paper_row, plan_paper_writes, store_papers, title_match
from mlradar._storage import Storage, open_storage
from mlradar.types import Paper, PaperId
from tests.test_papers_identity import arxiv as base_arxiv


def arxiv(n: int, **kw: object) -> Paper:
    title = kw.pop("title", "Zebracorn Herding with Sparse Transformers")
    return base_arxiv(n, title=title, abstract="We herd zebracorns.", **kw)


def accepted(forum: str, **kw: object) -> Paper:
    fields: dict[str, object] = {
        "arxiv_id": None,
        "title": "Zebracorn herding with sparse transformers.",  # typeset differently
        "authors": ("A. Lovelace", "A. M. Turing"),
        "categories": (),
        "abstract": "",
        "first_version_at": None,
        "updated_at": None,
        "venue": "ICLR 2025",
        "ids": (PaperId("openreview", forum),),
        "url": f"https://openreview.net/forum?id={forum}",
    }
    fields.update(kw)
    return Paper(**fields)  # type: ignore[arg-type]


def stored_view(papers: Mapping[int, Paper]) -> tuple[dict[PaperId, int], dict[int, StoredPaper]]:
    """What storage hands the decider: every key and title key of the stored papers."""
    rows = {pid: paper_row(p) for pid, p in papers.items()}
    matches = {k: pid for pid, r in rows.items() for k in r.keys}
    for pid, r in rows.items():
        if r.title_key:
            matches.setdefault(PaperId("title", r.title_key), pid)
    return matches, {pid: StoredPaper(pid, r.content_hash, r.keys) for pid, r in rows.items()}


def plan(incoming: Sequence[Paper], papers: Mapping[int, Paper]) -> PaperPlan:
    matches, info = stored_view(papers)
    rows = {pid: paper_row(p) for pid, p in papers.items()}

    def load(ids: Sequence[int]) -> Mapping[int, PaperRow]:
        return {i: rows[i] for i in ids}

    return plan_paper_writes([paper_row(p) for p in incoming], matches, info, load)


# -- the pure decision ---------------------------------------------------------------------------


def test_the_same_title_and_first_author_is_one_paper() -> None:
    matches, info = stored_view({7: arxiv(1)})
    assert title_match(paper_row(accepted("Zz1")), matches, info) == 7


@pytest.mark.parametrize(
    ("paper", "why"),
    [
        (accepted("Zz1", authors=("Grace Hopper",)), "another first author"),
        (accepted("Zz1", title="Zebracorn herding with dense transformers"), "another title"),
        (accepted("Zz1", arxiv_id="2501.09999"), "another arXiv id"),
        (accepted("Zz1", authors=()), "no author to tell two papers apart"),
    ],
)
def test_no_join_without_both_or_against_a_strong_identifier(paper: Paper, why: str) -> None:
    matches, info = stored_view({7: arxiv(1)})
    assert title_match(paper_row(paper), matches, info) is None, why


def test_a_short_generic_title_joins_nothing() -> None:
    matches, info = stored_view({7: arxiv(1, title="Editorial")})
    assert title_match(paper_row(accepted("Zz1", title="Editorial")), matches, info) is None


def test_the_plan_merges_the_accepted_paper_into_the_arxiv_one() -> None:
    result = plan([accepted("Zz1")], {7: arxiv(1)})
    assert not result.inserts
    ((pid, row),) = result.updates
    assert pid == 7
    assert row.arxiv_id == "2501.00001"
    assert row.venue == "ICLR 2025"
    assert PaperId("openreview", "Zz1") in row.keys


def test_two_arxiv_papers_of_one_title_stay_two() -> None:
    result = plan([arxiv(2)], {7: arxiv(1)})
    assert [r.arxiv_id for r in result.inserts] == ["2501.00002"]
    assert not result.updates


# -- storage, on both databases ----------------------------------------------------------------


@pytest.fixture
def storage(any_db_url: str) -> Iterator[Storage]:
    st = open_storage(any_db_url)
    yield st
    st.close()


def test_an_accepted_paper_joins_the_stored_arxiv_paper(storage: Storage) -> None:
    store_papers(storage, [arxiv(1), arxiv(2, title="Something else entirely here")])
    assert store_papers(storage, [accepted("Zz1")]) == StoreCounts(updated=1)
    joined = storage.get_paper(PaperId("openreview", "Zz1"))
    assert joined is not None
    assert (joined.arxiv_id, joined.venue) == ("2501.00001", "ICLR 2025")
    assert joined.categories == ("cs.LG",)  # what only arXiv knew stays
    assert storage.count_papers() == 2
    # Reading either record again changes nothing.
    assert store_papers(storage, [accepted("Zz1")]) == StoreCounts(unchanged=1)
    assert store_papers(storage, [arxiv(1)]).new == 0


def test_the_arxiv_record_arriving_later_joins_the_accepted_paper(storage: Storage) -> None:
    store_papers(storage, [accepted("Zz1")])
    assert store_papers(storage, [arxiv(1)]) == StoreCounts(updated=1)
    assert storage.count_papers() == 1
    joined = storage.get_paper("2501.00001")
    assert joined is not None
    assert joined.venue == "ICLR 2025"
    assert PaperId("openreview", "Zz1") in joined.ids
    # A second arXiv paper of that title is another paper: it cannot take the first's place.
    assert store_papers(storage, [arxiv(2)]) == StoreCounts(new=1)
    assert storage.count_papers() == 2


# -- the migration -----------------------------------------------------------------------------


def test_0008_gives_every_stored_paper_its_title_key(any_db_url: str) -> None:
    import sqlalchemy as sa

    from tests.test_migrations import _at_revision

    engine = _at_revision(any_db_url, "0006")
    now = datetime(2025, 1, 2)  # naive UTC, as the column stores it
    store_at_0006 = [
        ("2501.00001", "Zebracorn Herding with Sparse Transformers", '["Ada Lovelace"]'),
        ("2501.00002", "A paper nobody wrote", "[]"),
    ]
    with engine.begin() as conn:
        for arxiv_id, title, authors in store_at_0006:
            conn.execute(
                sa.text(
                    "INSERT INTO papers (arxiv_id, title, authors, categories, abstract, "
                    "versions, content_hash, stored_at, stub) VALUES "
                    "(:a, :t, :au, 'cs.LG', '', '[]', :h, :now, false)"
                ),
                {"a": arxiv_id, "t": title, "au": authors, "h": "h" + arxiv_id, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO paper_ids (scheme, value, paper_id) "
                    "SELECT 'arxiv', arxiv_id, id FROM papers WHERE arxiv_id = :a"
                ),
                {"a": arxiv_id},
            )
    engine.dispose()
    storage = open_storage(any_db_url)  # migrates to the head
    try:
        assert storage.count_papers() == 2
        assert store_papers(storage, [accepted("Zz1")]) == StoreCounts(updated=1)
        joined = storage.get_paper(PaperId("openreview", "Zz1"))
        assert joined is not None and joined.arxiv_id == "2501.00001"
    finally:
        storage.close()


def test_two_venues_of_one_paper_off_arxiv_are_one_paper(storage: Storage) -> None:
    store_papers(storage, [accepted("Zz1")])
    pmlr = accepted("x", ids=(PaperId("pmlr", "v267/lovelace25a"),), venue="ICML 2025 (PMLR v267)")
    assert store_papers(storage, [pmlr]) == StoreCounts(updated=1)
    assert storage.count_papers() == 1
    joined = storage.get_paper(PaperId("pmlr", "v267/lovelace25a"))
    assert joined is not None
    assert {i.scheme for i in joined.ids} == {"openreview", "pmlr"}
