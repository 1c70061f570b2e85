"""Papers beyond arXiv: identifiers, the write plan (pure), and storage on both databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pytest

from mlradar._model import PaperRow, StoreCounts, StoredPaper
from mlradar._papers import (
    merge_papers,
    paper_hash,
    paper_keys,
    paper_row,
    parse_paper_ref,
    plan_paper_writes,
    store_papers,
    title_key,
)
from mlradar._storage import Storage, open_storage
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper, PaperId, PaperVersion


def arxiv(n: int, **kw: object) -> Paper:
    fields: dict[str, object] = {
        "arxiv_id": f"2501.{n:05d}",
        "title": f"Paper number {n}",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("cs.LG",),
        "abstract": f"We study problem {n}.",
        "first_version_at": date(2025, 1, 2),
        "updated_at": date(2025, 1, 2),
        "versions": (PaperVersion(1, None),),
    }
    fields.update(kw)
    return Paper(**fields)  # type: ignore[arg-type]


def openreview(forum: str, **kw: object) -> Paper:
    fields: dict[str, object] = {
        "arxiv_id": None,
        "title": "A conference paper",
        "authors": ("Grace Hopper",),
        "categories": (),
        "abstract": "Accepted somewhere.",
        "first_version_at": None,
        "updated_at": None,
        "venue": "ICLR 2025",
        "ids": (PaperId("openreview", forum),),
        "url": f"https://openreview.net/forum?id={forum}",
    }
    fields.update(kw)
    return Paper(**fields)  # type: ignore[arg-type]


# -- identifiers ---------------------------------------------------------------------------------


def test_keys_are_normalized_and_unique() -> None:
    paper = arxiv(1, doi="https://doi.org/10.1000/ABC.1", ids=(PaperId("openreview", "HkX1"),))
    assert paper_keys(paper) == (
        PaperId("arxiv", "2501.00001"),
        PaperId("doi", "10.1000/abc.1"),
        PaperId("openreview", "HkX1"),
    )
    assert paper_keys(arxiv(1, doi="not a doi")) == (PaperId("arxiv", "2501.00001"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2501.00001", PaperId("arxiv", "2501.00001")),
        ("arXiv:2501.00001v3", PaperId("arxiv", "2501.00001")),
        ("https://arxiv.org/abs/2501.00001", PaperId("arxiv", "2501.00001")),
        ("doi:10.1000/XYZ", PaperId("doi", "10.1000/xyz")),
        ("https://doi.org/10.1000/xyz", PaperId("doi", "10.1000/xyz")),
        ("openreview:HkX1", PaperId("openreview", "HkX1")),
        ("pmlr:V235/Smith24a", PaperId("pmlr", "v235/smith24a")),
        ("paper:17", 17),
    ],
)
def test_users_name_papers_in_every_usual_form(text: str, expected: object) -> None:
    assert parse_paper_ref(text) == expected


def test_a_ref_that_names_nothing_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError):
        parse_paper_ref("nonsense")
    with pytest.raises(InvalidInputError, match="doi"):
        parse_paper_ref("doi:12345")


def test_title_key_folds_typesetting_differences() -> None:
    a = title_key("Attention Is All You Need", ("Ashish Vaswani", "Noam Shazeer"))
    b = title_key("Attention is all you need.", ("A. Vaswani",))
    assert a == b == "attention is all you need|vaswani"
    assert title_key("Attention Is All You Need", ()) is None


def test_the_ref_a_user_sees() -> None:
    assert arxiv(1).ref == "2501.00001"
    assert openreview("HkX1").ref == "openreview:HkX1"
    assert openreview("x", ids=(), doi="10.1/y").ref == "doi:10.1/y"


def test_hashes_of_old_records_do_not_change_with_new_fields() -> None:
    # A record without the fields added for papers off arXiv hashes as it always did: the
    # value below is what the previous code computed for it, so re-imports stay no-ops.
    import hashlib

    import orjson

    paper = arxiv(1)
    legacy = {
        name: getattr(paper, name)
        for name in [
            "arxiv_id",
            "title",
            "authors",
            "categories",
            "abstract",
            "first_version_at",
            "updated_at",
            "versions",
            "comments",
            "journal_ref",
            "doi",
            "license",
            "submitter",
            "report_no",
        ]
    }
    assert paper_hash(paper) == hashlib.sha256(orjson.dumps(legacy)).hexdigest()
    assert paper_hash(paper) != paper_hash(arxiv(1, venue="ICML 2025"))
    assert paper_hash(paper) == paper_hash(arxiv(1, id=5))


def test_merging_takes_the_new_fields_and_keeps_the_old_ones() -> None:
    merged = merge_papers(openreview("HkX1"), arxiv(1, venue=None))
    assert merged.arxiv_id == "2501.00001"
    assert merged.venue == "ICLR 2025"
    assert PaperId("openreview", "HkX1") in merged.ids
    assert merged.title == "Paper number 1"


# -- the plan ------------------------------------------------------------------------------------


def plan(
    incoming: Sequence[Paper],
    stored: Mapping[int, Paper] | None = None,
) -> object:
    stored = dict(stored or {})
    rows = {pid: paper_row(p) for pid, p in stored.items()}
    matches = {k: pid for pid, r in rows.items() for k in r.keys}
    info = {pid: StoredPaper(pid, r.content_hash, r.keys) for pid, r in rows.items()}

    def load(ids: Sequence[int]) -> Mapping[int, PaperRow]:
        return {i: rows[i] for i in ids}

    return plan_paper_writes([paper_row(p) for p in incoming], matches, info, load)


def test_a_batch_repeating_a_paper_inserts_it_once() -> None:
    result = plan([arxiv(1), arxiv(1, comments="v2"), arxiv(2)])
    assert [r.arxiv_id for r in result.inserts] == ["2501.00001", "2501.00002"]  # type: ignore[attr-defined]
    assert result.counts == StoreCounts(new=2)  # type: ignore[attr-defined]


def test_an_unchanged_record_costs_nothing_and_a_changed_one_updates() -> None:
    assert plan([arxiv(1)], {7: arxiv(1)}).counts == StoreCounts(unchanged=1)  # type: ignore[attr-defined]
    result = plan([arxiv(1, journal_ref="JMLR 2025")], {7: arxiv(1)})
    assert [pid for pid, _ in result.updates] == [7]  # type: ignore[attr-defined]


def test_a_record_naming_two_stored_papers_folds_them_into_the_older() -> None:
    both = arxiv(1, ids=(PaperId("openreview", "HkX1"),))
    result = plan([both], {3: openreview("HkX1"), 9: arxiv(1)})
    assert result.folds == ((9, 3),)  # type: ignore[attr-defined]
    ((pid, row),) = result.updates  # type: ignore[attr-defined]
    assert pid == 3
    assert set(row.keys) >= {PaperId("arxiv", "2501.00001"), PaperId("openreview", "HkX1")}


def test_two_arxiv_papers_sharing_a_doi_stay_two_and_the_first_keeps_it() -> None:
    # A proceedings-volume DOI given by two different papers does not make them one.
    result = plan([arxiv(2, doi="10.1000/vol")], {4: arxiv(1, doi="10.1000/vol")})
    assert not result.updates  # type: ignore[attr-defined]
    (row,) = result.inserts  # type: ignore[attr-defined]
    assert PaperId("doi", "10.1000/vol") not in row.keys


def test_a_record_without_any_identifier_is_left_out() -> None:
    assert plan([openreview("x", ids=(), url=None)]).counts == StoreCounts()  # type: ignore[attr-defined]


# -- storage, on both databases ----------------------------------------------------------------


@pytest.fixture
def storage(any_db_url: str) -> Storage:
    st = open_storage(any_db_url)
    yield st  # type: ignore[misc]
    st.close()


def test_a_conference_paper_and_its_arxiv_record_are_one_paper(storage: Storage) -> None:
    assert store_papers(storage, [openreview("HkX1")]) == StoreCounts(new=1)
    first = storage.get_paper(PaperId("openreview", "HkX1"))
    assert first is not None
    assert first.arxiv_id is None
    assert first.id is not None
    # The arXiv record says which OpenReview forum it is: it joins the stored paper.
    assert store_papers(storage, [arxiv(1, ids=(PaperId("openreview", "HkX1"),))]) == StoreCounts(
        updated=1
    )
    joined = storage.get_paper("2501.00001")
    assert joined is not None
    assert joined.id == first.id
    assert joined.venue == "ICLR 2025"
    assert storage.count_papers() == 1


def test_folding_moves_library_entries_to_the_paper_that_stays(storage: Storage) -> None:
    store_papers(storage, [openreview("HkX1"), arxiv(1)])
    conf = storage.paper_ids_for([PaperId("openreview", "HkX1")])[PaperId("openreview", "HkX1")]
    arx = storage.paper_ids_for([PaperId("arxiv", "2501.00001")])[PaperId("arxiv", "2501.00001")]
    user = storage.ensure_user("ada").id
    storage.add_tag(user, "reading", [("paper", str(arx))])
    storage.add_tag(user, "both", [("paper", str(arx)), ("paper", str(conf))])
    storage.set_reaction(user, [("paper", str(arx))], "like")
    store_papers(storage, [arxiv(1, ids=(PaperId("openreview", "HkX1"),))])
    kept = min(conf, arx)
    assert storage.count_papers() == 1
    assert sorted(storage.tagged(user)) == [
        ("both", "paper", str(kept)),
        ("reading", "paper", str(kept)),
    ]
    assert storage.reactions(user) == [("paper", str(kept), "like")]
    keys = storage.paper_ids_for([PaperId("arxiv", "2501.00001"), PaperId("openreview", "HkX1")])
    assert set(keys.values()) == {kept}


def test_a_stub_keeps_a_tag_until_the_record_fills_it_in(storage: Storage) -> None:
    pid = storage.ensure_paper(PaperId("arxiv", "2501.00042"))
    assert storage.ensure_paper(PaperId("arxiv", "2501.00042")) == pid
    assert storage.get_paper("2501.00042") is None  # nothing is known of it yet
    assert storage.count_papers() == 0
    assert list(storage.iter_paper_texts(0)) == []  # nothing to rank
    store_papers(storage, [arxiv(42)])
    filled = storage.get_paper("2501.00042")
    assert filled is not None
    assert filled.id == pid
    assert storage.count_papers() == 1
