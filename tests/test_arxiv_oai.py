"""OAI-PMH harvests against hand-written protocol responses served on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WResponse

from mlradar._arxiv.oai import list_records_url, state_key
from mlradar._radar import Radar, make_radar
from mlradar.exceptions import FetchError, ParseError
from mlradar.types import PaperVersion
from tests.arxiv_support import rerouting

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv" / "oai"
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs"}
NEXT = {"verb": "ListRecords", "resumptionToken": "6961|1001"}


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def serve(httpserver: HTTPServer, query: dict[str, str], name: str, status: int = 200) -> None:
    httpserver.expect_request("/oai", query_string=query).respond_with_data(
        page(name), status=status, content_type="text/xml; charset=utf-8"
    )


@pytest.fixture
def radar(db_url: str, httpserver: HTTPServer) -> Iterator[Radar]:
    with make_radar(
        db_url, allow_private_networks=True, arxiv_oai_url=httpserver.url_for("/oai")
    ) as r:
        yield r


def queries(httpserver: HTTPServer) -> list[dict[str, str]]:
    return [dict(req.args) for req, _ in httpserver.log]


def test_a_two_page_harvest_then_an_incremental_one(httpserver: HTTPServer, radar: Radar) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    serve(httpserver, NEXT, "arxiv-page2.xml")
    summary = radar.harvest_arxiv()
    assert queries(httpserver) == [FIRST, NEXT]
    assert (summary.pages, summary.records, summary.deleted, summary.skipped) == (2, 5, 1, 1)
    assert (summary.new, summary.updated, summary.unchanged) == (3, 0, 0)
    assert summary.last_datestamp == date(2025, 6, 4)
    assert "not an arXiv id" in summary.problems[0]
    assert not summary.resumed

    paper = radar.paper("2506.00001").paper
    assert paper is not None
    assert paper.title == "Scaling Laws for Sparse Mixtures & Experts"
    assert paper.authors == ("Csaba Balázs", "E. L. Berger Jr")
    assert paper.categories == ("cs.LG", "stat.ML")
    assert paper.first_version_at == date(2025, 5, 30)
    assert paper.updated_at == date(2025, 6, 1)
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.abstract == "We study scaling laws for sparse mixtures of experts."
    assert radar.paper("cs/0112017").paper is not None

    # The next run starts from the newest datestamp of the last one.
    httpserver.clear_log()
    serve(httpserver, {**FIRST, "from": "2025-06-04"}, "no-records.xml")
    again = radar.harvest_arxiv()
    assert queries(httpserver) == [{**FIRST, "from": "2025-06-04"}]
    assert (again.records, again.new) == (0, 0)
    assert again.last_datestamp == date(2025, 6, 4)


def test_an_interrupted_harvest_resumes_from_its_token(
    httpserver: HTTPServer, radar: Radar
) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    first = radar.harvest_arxiv(max_pages=1)
    assert first.pages == 1
    assert first.last_datestamp is None  # not complete: the next run must not skip ahead
    assert radar._storage.get_state(state_key("arXiv", "cs")) is not None

    serve(httpserver, NEXT, "arxiv-page2.xml")
    second = radar.harvest_arxiv()
    assert second.resumed
    assert queries(httpserver) == [FIRST, NEXT]
    assert (second.pages, second.records, second.new) == (2, 5, 3)
    assert second.last_datestamp == date(2025, 6, 4)


def test_a_failed_page_keeps_the_token_for_the_next_run(
    httpserver: HTTPServer, radar: Radar
) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    httpserver.expect_request("/oai", query_string=NEXT).respond_with_data("overloaded", status=500)
    with pytest.raises(FetchError):
        radar.harvest_arxiv()
    assert radar._storage.count_papers() == 2  # page 1 was committed

    httpserver.clear_all_handlers()
    serve(httpserver, NEXT, "arxiv-page2.xml")
    summary = radar.harvest_arxiv()
    assert summary.resumed
    assert summary.new == 3
    assert queries(httpserver)[-1] == NEXT


def test_an_expired_token_starts_the_window_over(httpserver: HTTPServer, radar: Radar) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    radar.harvest_arxiv(max_pages=1)
    serve(httpserver, NEXT, "bad-token.xml")
    with pytest.raises(FetchError, match="resumption token has expired"):
        radar.harvest_arxiv()
    httpserver.clear_log()
    serve(httpserver, {**FIRST}, "arxiv-page1.xml")
    summary = radar.harvest_arxiv(max_pages=1)
    assert not summary.resumed
    assert queries(httpserver) == [FIRST]


def test_a_different_window_is_not_resumed(httpserver: HTTPServer, radar: Radar) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    radar.harvest_arxiv(max_pages=1)
    window = {**FIRST, "from": "2025-06-01", "until": "2025-06-02"}
    serve(httpserver, window, "no-records.xml")
    summary = radar.harvest_arxiv(from_date=date(2025, 6, 1), until_date=date(2025, 6, 2))
    assert not summary.resumed
    assert queries(httpserver)[-1] == window


def test_arxiv_raw_adds_version_dates_and_keeps_what_it_lacks(
    httpserver: HTTPServer, radar: Radar
) -> None:
    serve(httpserver, FIRST, "arxiv-page1.xml")
    serve(httpserver, NEXT, "arxiv-page2.xml")
    radar.harvest_arxiv()
    serve(
        httpserver,
        {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs"},
        "arxivraw-page.xml",
    )
    summary = radar.harvest_arxiv(metadata_prefix="arXivRaw")
    assert (summary.new, summary.updated) == (0, 1)
    paper = radar.paper("2506.00001").paper
    assert paper is not None
    assert paper.versions == (
        PaperVersion(1, datetime(2025, 5, 30, 17, 59, 46, tzinfo=UTC)),
        PaperVersion(2, datetime(2025, 6, 1, 9, 0, tzinfo=UTC)),
    )
    assert paper.submitter == "Csaba Balazs"
    assert paper.comments == "12 pages, 4 figures; v2: typos"
    # arXivRaw carries no DOI here; the one harvested before stays.
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.authors == ("Csaba Balázs", "E. L. Berger Jr", "C.-P. Yuan")


def test_hostile_and_broken_responses(httpserver: HTTPServer, radar: Radar) -> None:
    serve(httpserver, FIRST, "xxe.xml")
    radar.harvest_arxiv()
    paper = radar.paper("2506.00009").paper
    assert paper is not None
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    assert not hostname or hostname not in paper.title

    httpserver.clear_all_handlers()
    httpserver.expect_request("/oai").respond_with_data("<OAI-PMH><unclosed>", status=200)
    with pytest.raises(ParseError, match="not well-formed XML"):
        radar.harvest_arxiv(set_spec="math")


def test_the_request_url() -> None:
    assert (
        list_records_url("https://oaipmh.arxiv.org/oai", set_spec="cs", from_date=date(2025, 1, 2))
        == "https://oaipmh.arxiv.org/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from=2025-01-02"
    )
    assert list_records_url("https://x/oai", token="a|b") == (
        "https://x/oai?verb=ListRecords&resumptionToken=a%7Cb"
    )


def test_pages_from_arxiv_are_three_seconds_apart(db_url: str, httpserver: HTTPServer) -> None:
    """With arXiv's real host names (rerouted to loopback), the harvest is throttled."""
    arrivals: list[float] = []
    pages = iter([page("arxiv-page1.xml"), page("arxiv-page2.xml")])

    def handler(request: Request) -> WResponse:
        arrivals.append(time.monotonic())
        return WResponse(next(pages), content_type="text/xml")

    httpserver.expect_request("/oai").respond_with_handler(handler)
    with make_radar(db_url, fetcher_factory=rerouting(httpserver)) as radar:
        summary = radar.harvest_arxiv()
    assert summary.pages == 2
    assert arrivals[1] - arrivals[0] >= 2.9  # sent 3 s apart; arrival jitters
