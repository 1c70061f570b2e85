"""Paper records: conversion from the snapshot schema, merging, hashing, category filters."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from mlradar._arxiv.records import (
    CategoryFilter,
    clean_categories,
    paper_from_json,
    paper_from_snapshot,
    split_authors,
)
from mlradar._papers import merge_papers, paper_hash
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper, PaperVersion


def real_records(shared_data: Path, n: int) -> list[dict[str, object]]:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        return [orjson.loads(line) for line in itertools.islice(f, n)]


def test_a_real_snapshot_record(shared_data: Path) -> None:
    record = real_records(shared_data, 1)[0]
    paper = paper_from_snapshot(record)
    assert paper.arxiv_id == "2503.11677"
    assert paper.title.startswith("Simulation of prosthetic vision with PRIMA system")
    # Ordered, "first last", from authors_parsed.
    assert paper.authors[:2] == ("Jungyeon Park", "Anna Kochnev Goldstein")
    assert len(paper.authors) == 5
    assert paper.categories == ("cs.HC", "cs.CV")
    assert paper.primary_category == "cs.HC"
    assert paper.versions == (PaperVersion(1, datetime(2025, 3, 18, tzinfo=UTC)),)
    assert paper.first_version_at == date(2025, 3, 18)
    assert paper.updated_at == date(2025, 3, 18)
    # The snapshot's hard line wraps are gone; the text is otherwise intact.
    assert "\n" not in paper.abstract
    assert paper.abstract.startswith("Objective. Patients implanted with the PRIMA photovoltaic")
    assert paper.abs_url == "https://arxiv.org/abs/2503.11677"
    assert paper.pdf_url == "https://arxiv.org/pdf/2503.11677"
    assert paper.html_url == "https://arxiv.org/html/2503.11677"


def test_every_real_record_converts(shared_data: Path) -> None:
    for record in real_records(shared_data, 3000):
        paper = paper_from_snapshot(record)
        assert paper.title
        assert paper.authors
        assert paper.categories
        assert paper.first_version_at is not None


def test_the_full_kaggle_schema_with_versions_tex_names_and_extra_codes() -> None:
    record = {
        "id": "0704.0001",
        "submitter": "Pavel Nadolsky",
        "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
        "title": (
            "Calculation of prompt diphoton production cross sections at Tevatron and\n"
            "  LHC energies"
        ),
        "comments": "37 pages, 15 figures; published version",
        "journal-ref": "Phys.Rev.D76:013009,2007",
        "doi": "10.1103/PhysRevD.76.013009",
        "report-no": "ANL-HEP-PR-07-12",
        "categories": "hep-ph 68T05 I.2.6",
        "license": None,
        "abstract": (
            "  A fully differential calculation in perturbative quantum chromodynamics is\n"
            "presented.\n"
        ),
        "versions": [
            {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        ],
        "update_date": "2008-11-13",
        "authors_parsed": [
            ["Balázs", "C.", ""],
            ["Berger", "E. L.", ""],
            ["Nadolsky", "P. M.", ""],
            ["Yuan", "C. -P.", ""],
        ],
    }
    paper = paper_from_snapshot(record)
    assert paper.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.authors[0] == "C. Balázs"
    assert paper.categories == ("hep-ph",)  # MSC and ACM codes are not categories
    assert [v.version for v in paper.versions] == [1, 2]
    assert paper.first_version_at == date(2007, 4, 2)
    assert paper.updated_at == date(2008, 11, 13)
    assert paper.report_no == "ANL-HEP-PR-07-12"
    assert paper.abstract == (
        "A fully differential calculation in perturbative quantum chromodynamics is presented."
    )
    # Without authors_parsed, the author string is split and its TeX decoded.
    del record["authors_parsed"]
    assert paper_from_snapshot(record).authors[0] == "C. Balázs"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"title": "no id"}, "no arXiv id"),
        ({"id": "hello", "title": "x"}, "not an arXiv id"),
        ({"id": "2503.11677", "title": "   "}, "no title"),
    ],
)
def test_records_without_identity_are_refused(record: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        paper_from_snapshot(record)


def test_json_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="expected a JSON object"):
        paper_from_json([1, 2])


def test_split_authors() -> None:
    assert split_authors("A. One, B. Two (MIT, CSAIL) and C. Three") == (
        "A. One",
        "B. Two",
        "C. Three",
    )
    assert split_authors('Jörg M{\\"u}ller and ATLAS Collaboration') == (
        "Jörg Müller",
        "ATLAS Collaboration",
    )
    assert split_authors("") == ()


def test_categories_keep_primary_first_and_drop_non_arxiv_codes() -> None:
    assert clean_categories(["cs.CV", "cs.LG", "68T05", "cs.CV"], primary="cs.LG") == (
        "cs.LG",
        "cs.CV",
    )


def test_category_filter() -> None:
    f = CategoryFilter.parse("cs.LG, cs.CL,stat.ML,math.*")
    assert f.matches(["cs.CV", "stat.ML"])
    assert f.matches(["math.CO"])
    assert not f.matches(["cs.CV", "stat.ME"])
    assert CategoryFilter.parse("cs").matches(["cs.AI"])
    assert CategoryFilter.parse(None).matches([])
    assert str(CategoryFilter.parse("cs.*,cs.LG")) == "cs.LG,cs.*"
    with pytest.raises(InvalidInputError, match="not an arXiv category"):
        CategoryFilter.parse("cs.LG,machine learning")


def _paper(**kw: object) -> Paper:
    base: dict[str, object] = {
        "arxiv_id": "2401.00001",
        "title": "T",
        "authors": ("A",),
        "categories": ("cs.LG",),
        "abstract": "x",
        "first_version_at": date(2024, 1, 1),
        "updated_at": date(2024, 1, 1),
        "versions": (PaperVersion(1, datetime(2024, 1, 1, tzinfo=UTC)),),
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


def test_merge_keeps_what_the_newer_source_does_not_say() -> None:
    old = _paper(journal_ref="J. 1", doi="10.1/x")
    new = _paper(
        title="T2",
        versions=(PaperVersion(1, None), PaperVersion(2, datetime(2024, 3, 1, tzinfo=UTC))),
        first_version_at=None,
        updated_at=date(2024, 3, 1),
    )
    merged = merge_papers(old, new)
    assert merged.title == "T2"
    assert merged.journal_ref == "J. 1"
    assert merged.doi == "10.1/x"
    assert merged.versions == (
        PaperVersion(1, datetime(2024, 1, 1, tzinfo=UTC)),
        PaperVersion(2, datetime(2024, 3, 1, tzinfo=UTC)),
    )
    assert merged.first_version_at == date(2024, 1, 1)
    assert merged.updated_at == date(2024, 3, 1)
    with pytest.raises(ValueError, match="cannot merge"):
        merge_papers(old, _paper(arxiv_id="2401.00002"))


def test_the_hash_sees_every_field() -> None:
    p = _paper()
    assert paper_hash(p) == paper_hash(_paper())
    assert paper_hash(p) != paper_hash(_paper(comments="v2"))
    assert paper_hash(p) != paper_hash(_paper(versions=()))
