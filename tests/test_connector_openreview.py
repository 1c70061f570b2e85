"""OpenReview venues: what users type, the API v2 answer read (its odd cases too), and
``sources add`` through ``update`` against fixtures written from the public API docs,
joined to real arXiv papers imported from ``../shared/data``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mlradar import make_radar
from mlradar._config import Settings
from mlradar._connectors.openreview import OpenReviewConnector, parse_notes, parse_venue
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import PaperId

FIXTURES = Path(__file__).parent / "fixtures" / "openreview"
VENUE = "ICLR.cc/2025/Conference"
#: The real arXiv papers the fixtures' accepted papers are (2503.12172 has no arXiv id in
#: its note: it joins by title and first author).
SEAL, HYPERKAN = "2503.12172", "2503.12365"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- what users type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "openreview:ICLR.cc/2025/Conference",
        "https://openreview.net/group?id=ICLR.cc/2025/Conference",
        "https://openreview.net/group?id=ICLR.cc/2025/Conference#tab-accept-oral",
        "https://openreview.net/group?id=ICLR.cc/2025/Conference&referrer=%5BHomepage%5D",
    ],
)
def test_a_venue_is_named_by_its_id_or_its_page(text: str) -> None:
    spec = OpenReviewConnector(Settings()).parse_spec(text)
    assert spec is not None
    assert (spec.kind, spec.url, spec.config["venue"]) == (
        "openreview",
        f"openreview:{VENUE}",
        VENUE,
    )
    assert spec.title == "ICLR 2025 Conference (OpenReview)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openreview:", "not an OpenReview venue id"),
        ("openreview:ICLR.cc/2025/Conference/-/Submission", "not an OpenReview venue id"),
        ("https://openreview.net/forum?id=SEALz0x1", "follow a venue page"),
    ],
)
def test_what_names_no_venue_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_venue(text)


def test_other_input_is_not_openreviews() -> None:
    assert parse_venue("https://example.org/group?id=x") is None
    assert parse_venue("arxiv:cs.LG") is None


# -- reading the API's answer --------------------------------------------------------------------


def test_notes_become_papers_with_venue_forum_pdf_and_arxiv_id_where_given() -> None:
    page = parse_notes(fixture("iclr2025-accepted-offset0.json"), "u", "https://openreview.net")
    assert (page.notes, page.count, page.skipped) == (2, 3, ())
    seal, hyperkan = page.papers
    assert seal.arxiv_id is None  # the note without an arXiv id
    assert seal.venue == "ICLR 2025 Poster"
    assert seal.ids == (PaperId("openreview", "SEALz0x1"),)
    assert seal.url == "https://openreview.net/forum?id=SEALz0x1"
    assert seal.pdf == "https://openreview.net/pdf/sealz0x10a1b2c3d4e5f.pdf"
    assert seal.authors[0] == "Kasra Arabi"
    assert seal.first_version_at is not None and seal.first_version_at.isoformat() == "2025-01-22"
    assert hyperkan.arxiv_id == HYPERKAN
    assert hyperkan.venue == "ICLR 2025 Oral"
    entry = page.entries[0]
    assert entry.key == "id:openreview:SEALz0x1"
    assert entry.url == "https://openreview.net/forum?id=SEALz0x1"
    assert entry.refs == (("openreview", "SEALz0x1"),)
    assert entry.categories[:2] == ("ICLR 2025 Poster", "watermarking")
    assert "semantic information" in entry.text
    assert page.entries[1].arxiv_ids == (HYPERKAN,)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>maintenance</html>", "did not answer JSON"),
        (b"[]", "answered a JSON list, not an object"),
        (b'{"notes": {"id": 1}}', "no 'notes' list"),
        (b'{"count": 0}', "no 'notes' list"),
    ],
)
def test_an_answer_of_another_shape_is_a_clear_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_notes(body, "https://api2.openreview.net/notes", "https://openreview.net")


def test_a_note_it_cannot_read_is_skipped_with_its_reason() -> None:
    body = json.dumps(
        {
            "notes": [
                {"id": "a1b2c3", "content": {"title": "not wrapped in value"}},
                {"id": "d4e5f6", "content": []},
                "a string",
                {"id": "g7h8i9", "forum": "g7h8i9", "content": {"title": {"value": "Fine"}}},
            ]
        }
    ).encode()
    page = parse_notes(body, "u", "https://openreview.net")
    assert [p.title for p in page.papers] == ["Fine"]
    assert page.papers[0].authors == () and page.papers[0].pdf is None
    assert page.skipped == (
        "note 0: a1b2c3 has no content.title value",
        "note 1: no 'content' object",
        "note 2: a str, not an object",
    )


# -- sources add through update ------------------------------------------------------------------


def _serve_venue(httpserver: HTTPServer) -> None:
    for offset in (0, 2):
        httpserver.expect_request(
            "/notes",
            query_string={"content.venueid": VENUE, "offset": str(offset), "limit": "2"},
        ).respond_with_data(
            fixture(f"iclr2025-accepted-offset{offset}.json"), content_type="application/json"
        )


def _corpus_subset(shared_data: Path, tmp_path: Path, lines: int = 200) -> Path:
    """The first real arXiv records of the snapshot (the fixtures' papers among them)."""
    out = tmp_path / "subset.jsonl.gz"
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rt", encoding="utf-8") as src:
        head = [next(src) for _ in range(lines)]
    with gzip.open(out, "wt", encoding="utf-8") as dst:
        dst.writelines(head)
    return out


def test_a_venue_from_add_to_update_joins_its_arxiv_papers(
    db_url: str, shared_data: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    _serve_venue(httpserver)
    with make_radar(
        db_url,
        allow_private_networks=True,
        openreview_api_url=httpserver.url_for("/"),
        openreview_page_size=2,
    ) as radar:
        imported = radar.import_arxiv_snapshot(_corpus_subset(shared_data, tmp_path), index=False)
        before = radar.stats().papers
        assert before == imported.papers
        source = radar.add_source("https://openreview.net/group?id=ICLR.cc/2025/Conference")
        assert source.kind == "openreview"
        summary = radar.update()
        assert (summary.new, summary.failed) == (3, 0), summary
        # Two of the three accepted papers are arXiv papers already stored: one joined by
        # its arXiv id, one by title and first author; the third is new.
        assert radar.stats().papers == before + 1
        seal = radar.paper(SEAL)
        assert seal.paper is not None
        assert seal.paper.venue == "ICLR 2025 Poster"
        assert PaperId("openreview", "SEALz0x1") in seal.paper.ids
        assert seal.paper.categories == ("cs.LG", "cs.CR", "cs.CV")  # arXiv's, kept
        assert [i.source_kind for i in seal.items] == ["openreview"]
        assert radar.paper("openreview:SEALz0x1").paper == seal.paper
        hyperkan = radar.paper(HYPERKAN).paper
        assert hyperkan is not None and hyperkan.venue == "ICLR 2025 Oral"
        zebra = radar.paper("openreview:Zbr4C0rn").paper
        assert zebra is not None
        assert (zebra.arxiv_id, zebra.venue) == (None, "ICLR 2025 Spotlight")
        # Reading the venue again changes nothing.
        again = radar.update(force=True)
        assert (again.new, again.updated, again.failed) == (0, 0, 0)
        assert radar.stats().papers == before + 1


def test_a_429_pauses_the_venue_and_is_that_sources_error(
    db_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/notes").respond_with_data(
        '{"name": "RateLimitError", "message": "Too many requests"}',
        status=429,
        headers={"Retry-After": "3600"},
        content_type="application/json",
    )
    with make_radar(
        db_url, allow_private_networks=True, openreview_api_url=httpserver.url_for("/")
    ) as radar:
        source = radar.add_source(f"openreview:{VENUE}")
        summary = radar.update()
        assert summary.failed == 1
        state = radar.source(source.id).state
        assert state.last_error is not None and "429" in state.last_error
        assert state.last_status == 429
        # Not asked again before the hour the API asked for has passed.
        assert state.next_due_at is not None and state.last_fetched_at is not None
        assert (state.next_due_at - state.last_fetched_at).total_seconds() >= 3600
        assert radar.update().sources == ()  # nothing due
        assert len(httpserver.log) == 1


def test_a_venue_without_accepted_papers_says_why_it_may_be(
    db_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/notes").respond_with_json({"notes": [], "count": 0})
    with make_radar(
        db_url, allow_private_networks=True, openreview_api_url=httpserver.url_for("/")
    ) as radar:
        source = radar.add_source("openreview:ICLR.cc/2019/Conference")
        summary = radar.update()
        assert (summary.new, summary.failed) == (0, 0)
        warning = radar.source(source.id).state.last_warning
        assert warning is not None and "API v1" in warning
