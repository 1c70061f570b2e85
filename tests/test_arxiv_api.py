"""The export API client and its Atom parser, against real recorded arXiv responses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WResponse

from mlradar._arxiv.api import ArxivApi, parse_api_feed, query_url
from mlradar._config import Settings
from mlradar._fetch import Fetcher, arxiv_policies
from mlradar._radar import Radar, make_radar
from mlradar.exceptions import FetchError, InvalidInputError, ParseError
from mlradar.types import PaperVersion
from tests.arxiv_support import Recorded, recorded_responses, rerouting, serve_recorded

T = TypeVar("T")

EMPTY_PAGE = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/x</id>
  <title>arXiv Query</title>
  <opensearch:itemsPerPage>10</opensearch:itemsPerPage>
  <opensearch:totalResults>214881</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
</feed>
"""


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> dict[str, Recorded]:
    return recorded_responses(shared_data)


def settings(httpserver: HTTPServer, **kw: Any) -> Settings:
    return Settings(
        allow_private_networks=True,
        arxiv_api_url=httpserver.url_for("/api/query"),
        **kw,
    )


def api_call(httpserver: HTTPServer, call: Any, **kw: Any) -> Any:
    async def go() -> Any:
        s = settings(httpserver, **kw)
        # Loopback is not an arXiv host, so arxiv_policies leaves it unthrottled: fast tests.
        async with Fetcher(s, policies=arxiv_policies(s)) as fetcher:
            return await call(ArxivApi(fetcher, s.arxiv_api_url))

    return run(go())


def test_every_recorded_response_parses(recorded: dict[str, Recorded]) -> None:
    for r in recorded.values():
        if r.status != 200:
            continue
        page = parse_api_feed(r.body.encode(), r.url)
        assert not page.problems
        assert len(page.papers) <= int(r.query["max_results"])


def test_a_recorded_entry_in_detail(recorded: dict[str, Recorded]) -> None:
    r = recorded["id_1605.08386_s0_m100_199195aa31ad"]
    page = parse_api_feed(r.body.encode(), r.url)
    assert (page.total, page.start) == (1, 0)
    (paper,) = page.papers
    assert paper.arxiv_id == "1605.08386"
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.categories == ("math.CO", "math.ST")
    assert paper.comments == "20 pages, 3 figures"
    assert paper.first_version_at == date(2016, 5, 26)
    assert paper.versions == (PaperVersion(1, datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)),)

    testing = recorded["q_testing_s0_m10_bc5a6c384fe9"]
    first = parse_api_feed(testing.body.encode(), testing.url).papers[0]
    assert first.arxiv_id == "2202.12139"
    assert first.categories[0] == "cs.SE"  # the primary category comes first
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref is not None
    assert first.journal_ref.startswith("Artificial Intelligence in Software Testing")
    # Old-style ids lose nothing but their version.
    old = recorded["id_quant-ph_0201082v1_s0_m100_86989fe779ef"]
    assert parse_api_feed(old.body.encode(), old.url).papers[0].arxiv_id == "quant-ph/0201082"


def test_the_query_url_matches_what_arxiv_was_asked(recorded: dict[str, Recorded]) -> None:
    r = recorded["q_testing_s10_m10_34e56e15aaac"]
    assert (
        query_url(
            "https://export.arxiv.org/api/query", search_query="testing", start=10, max_results=10
        )
        == r.url
    )
    with pytest.raises(InvalidInputError):
        query_url("https://x", max_results=0)


def test_paging_through_a_query(httpserver: HTTPServer, recorded: dict[str, Recorded]) -> None:
    serve_recorded(httpserver, recorded)
    papers = api_call(
        httpserver,
        lambda api: api.search("testing", max_results=20, page_size=10, sort_by="relevance"),
    )
    expected = [
        p.arxiv_id
        for name in ("q_testing_s0_m10_bc5a6c384fe9", "q_testing_s10_m10_34e56e15aaac")
        for p in parse_api_feed(recorded[name].body.encode(), recorded[name].url).papers
    ]
    assert [p.arxiv_id for p in papers] == expected
    assert len(expected) == 20


def test_by_ids_and_unknown_ids(httpserver: HTTPServer, recorded: dict[str, Recorded]) -> None:
    serve_recorded(httpserver, recorded)
    papers = api_call(httpserver, lambda api: api.by_ids(["1605.08386"]))
    assert [p.arxiv_id for p in papers] == ["1605.08386"]
    assert api_call(httpserver, lambda api: api.by_ids(["0000.0000"])) == []


def test_an_api_error_is_one_clear_message(
    httpserver: HTTPServer, recorded: dict[str, Recorded]
) -> None:
    serve_recorded(httpserver, recorded)
    with pytest.raises(InvalidInputError, match="incorrect id format for abc"):
        api_call(httpserver, lambda api: api.by_ids(["abc"]))


def test_a_spuriously_empty_page_is_asked_again(
    httpserver: HTTPServer, recorded: dict[str, Recorded]
) -> None:
    good = recorded["q_testing_s0_m10_bc5a6c384fe9"]
    calls: list[int] = []

    def handler(request: Request) -> WResponse:
        calls.append(1)
        body = EMPTY_PAGE if len(calls) < 3 else good.body
        return WResponse(body, content_type="application/atom+xml")

    httpserver.expect_request("/api/query").respond_with_handler(handler)
    page = api_call(httpserver, lambda api: api.page(search_query="testing", max_results=10))
    assert len(calls) == 3
    assert len(page.papers) == 10


def test_empty_pages_are_retried_a_bounded_number_of_times(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/query").respond_with_data(
        EMPTY_PAGE, content_type="application/atom+xml"
    )
    with pytest.raises(FetchError, match="empty page 4 times"):
        api_call(httpserver, lambda api: api.page(search_query="testing", max_results=10))
    assert len(httpserver.log) == 4


def test_garbage_is_a_parse_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/query").respond_with_data("<html>nope", status=200)
    with pytest.raises(ParseError, match="not well-formed XML"):
        api_call(httpserver, lambda api: api.page(search_query="x"))


def test_the_user_agent_names_the_configured_contact(
    httpserver: HTTPServer, recorded: dict[str, Recorded]
) -> None:
    serve_recorded(httpserver, recorded)
    api_call(httpserver, lambda api: api.by_ids(["1605.08386"]), contact_email="me@example.org")
    agent = httpserver.log[0][0].headers["User-Agent"]
    assert "mailto:me@example.org" in agent


@pytest.fixture
def real_host_radar(db_url: str, httpserver: HTTPServer) -> Iterator[Radar]:
    """A radar with arXiv's real URLs (rerouted to loopback by its fetcher factory)."""
    with make_radar(db_url, fetcher_factory=rerouting(httpserver)) as radar:
        yield radar


def test_the_facade_is_polite_to_arxiv(
    httpserver: HTTPServer, recorded: dict[str, Recorded], real_host_radar: Radar
) -> None:
    """Through the facade, a request to export.arxiv.org waits out a 503's Retry-After."""
    r = recorded["id_1605.08386_s0_m100_199195aa31ad"]
    arrivals: list[float] = []

    def handler(request: Request) -> WResponse:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return WResponse("busy", status=503, headers={"Retry-After": "4"})
        return WResponse(r.body, content_type="application/atom+xml")

    httpserver.expect_request("/api/query").respond_with_handler(handler)
    detail = real_host_radar.paper("arXiv:1605.08386v1", fetch=True)
    assert detail.paper is not None
    assert detail.paper.title == "Heat-bath random walks with Markov bases"
    assert arrivals[1] - arrivals[0] >= 3.9  # Retry-After: 4 (longer than the 3 s spacing)
    # Stored: a second look needs no request.
    assert real_host_radar.paper("1605.08386").paper == detail.paper
    assert len(arrivals) == 2
