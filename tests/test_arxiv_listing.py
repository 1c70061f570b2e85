"""arXiv sources: the spec, the daily listing feed, the query API, and the update run."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WResponse

from mlradar._arxiv.listing import parse_arxiv_source, parse_listing
from mlradar._config import Settings
from mlradar._connectors import InlineContext, SourceRef
from mlradar._connectors.arxiv import ArxivConnector
from mlradar._fetch import Fetcher
from mlradar._radar import Radar, make_radar
from mlradar.exceptions import InvalidInputError, ParseError
from tests.arxiv_support import recorded_responses

FIXTURE = Path(__file__).parent / "fixtures" / "arxiv" / "rss-cs.LG.xml"
ARXIV_NS = "http://arxiv.org/schemas/atom"
DC_NS = "http://purl.org/dc/elements/1.1/"


@pytest.mark.parametrize(
    ("spec", "url", "config"),
    [
        ("arxiv:cs.LG", "arxiv:cs.LG", {"mode": "listing", "categories": ["cs.LG"]}),
        (
            "arxiv:cs.LG, cs.CL",
            "arxiv:cs.CL,cs.LG",
            {"mode": "listing", "categories": ["cs.CL", "cs.LG"]},
        ),
        ("arxiv:cs.*", "arxiv:cs", {"mode": "listing", "categories": ["cs"]}),
        (
            'arxiv:"diffusion"  AND cat:cs.CV',
            'arxiv:"diffusion" AND cat:cs.CV',
            {"mode": "query", "query": '"diffusion" AND cat:cs.CV'},
        ),
        ("arxiv:diffusion", "arxiv:diffusion", {"mode": "query", "query": "diffusion"}),
    ],
)
def test_source_specs(spec: str, url: str, config: dict[str, Any]) -> None:
    assert parse_arxiv_source(spec) == (url, config)


@pytest.mark.parametrize(
    "spec", ["arxiv:", "arxiv:  ", 'arxiv:"open', "arxiv:(a OR b", "arxiv:" + "x" * 1001]
)
def test_bad_source_specs(spec: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_arxiv_source(spec)


def test_the_listing_feed() -> None:
    feed, papers = parse_listing(FIXTURE.read_bytes(), "https://rss.arxiv.org/rss/cs.LG")
    assert feed.title == "cs.LG updates on arXiv.org"
    assert feed.warning == "1 listing items without an arXiv id were skipped"
    assert [p.arxiv_id for p in papers] == ["2505.23969", "2505.24053", "1605.08386"]
    new, cross, replaced = papers
    assert new.authors == (
        "Otman Benchekroun",
        "Eitan Grinspun",
        "Maurizio Chiaramonte",
        "Philip Allen Etter",
    )
    assert new.categories == ("cs.GR", "cs.LG")
    assert new.abstract.startswith("Designing subspaces for Reduced Order Modeling (ROM)")
    assert new.first_version_at == date(2025, 6, 2)
    assert cross.first_version_at == date(2025, 6, 2)
    # A replacement is not the first version: its first date is unknown, its update known.
    assert replaced.first_version_at is None
    assert replaced.updated_at == date(2025, 6, 2)
    assert [v.version for v in replaced.versions] == [1, 2, 3]
    assert replaced.journal_ref == "Advances in Applied Mathematics 97 (2018)"
    entry = feed.entries[2]
    assert entry.key == "id:arxiv:1605.08386"
    assert entry.url == "https://arxiv.org/abs/1605.08386"
    assert entry.arxiv_ids == ("1605.08386",)
    assert entry.dois == ("10.1016/j.aam.2018.01.004",)
    with pytest.raises(ParseError, match="not an RSS listing"):
        parse_listing(b"<feed/>", "u")


def _source(url: str = "arxiv:cs.LG", **state: Any) -> SourceRef:
    return SourceRef(1, "arxiv", url, None, {}, state)


def connector_fetch(settings: Settings, source: SourceRef, config: dict[str, Any]) -> Any:
    connector = ArxivConnector(settings)

    async def go() -> Any:
        async with Fetcher(settings, policies=connector.policies(settings)) as fetcher:
            return await connector.fetch(
                replace(source, config=config), InlineContext(fetcher, settings)
            )

    return asyncio.run(go())


def test_the_connector_reads_listings_conditionally(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> WResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return WResponse(status=304, headers={"ETag": '"v1"'})
        return WResponse(
            FIXTURE.read_bytes(), content_type="application/rss+xml", headers={"ETag": '"v1"'}
        )

    httpserver.expect_request("/rss/cs.CL+cs.LG").respond_with_handler(handler)
    settings = Settings(allow_private_networks=True, arxiv_rss_url=httpserver.url_for("/rss"))
    url, config = parse_arxiv_source("arxiv:cs.LG,cs.CL")
    fetched = connector_fetch(settings, _source(url), config)
    assert fetched.state["etag"] == '"v1"'
    assert fetched.entries is not None
    assert len(fetched.entries) == len(fetched.papers) == 3
    again = connector_fetch(settings, _source(url, etag='"v1"'), config)
    assert again.not_modified
    assert again.status == 304


def test_the_connector_follows_a_query_newest_first(
    httpserver: HTTPServer, shared_data: Path
) -> None:
    recorded = recorded_responses(shared_data)["q_testing_s0_m10_bc5a6c384fe9"]
    httpserver.expect_request("/api/query").respond_with_data(
        recorded.body, content_type="application/atom+xml"
    )
    settings = Settings(allow_private_networks=True, arxiv_api_url=httpserver.url_for("/api/query"))
    url, config = parse_arxiv_source('arxiv:"deep learning" AND cat:cs.SE')
    fetched = connector_fetch(settings, _source(url), {**config, "max_results": 10})
    args = httpserver.log[0][0].args
    assert args["search_query"] == '"deep learning" AND cat:cs.SE'
    assert (args["sortBy"], args["sortOrder"], args["max_results"]) == (
        "submittedDate",
        "descending",
        "10",
    )
    assert len(fetched.papers) == 10
    assert fetched.entries[0].key == "id:arxiv:2202.12139"
    assert fetched.entries[0].published_at == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)


# -- the daily listings, through the real update run --------------------------------------


def listing_rss(records: list[dict[str, Any]], day: date) -> bytes:
    """The daily listing JSON of a mirror, written back as arXiv's RSS listing feed."""
    nsmap = {"arxiv": ARXIV_NS, "dc": DC_NS}
    rss = etree.Element("rss", nsmap=nsmap, version="2.0")
    channel = etree.SubElement(rss, "channel")
    etree.SubElement(channel, "title").text = "cs updates on arXiv.org"
    stamp = format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    for r in records:
        item = etree.SubElement(channel, "item")
        etree.SubElement(item, "title").text = r["title"]
        etree.SubElement(item, "link").text = r["abs"]
        etree.SubElement(
            item, "description"
        ).text = f"arXiv:{r['id']}v1 Announce Type: new \nAbstract: {r['summary']}"
        etree.SubElement(item, "guid", isPermaLink="false").text = f"oai:arXiv.org:{r['id']}v1"
        for c in r["categories"]:
            etree.SubElement(item, "category").text = c
        etree.SubElement(item, "pubDate").text = stamp
        etree.SubElement(item, f"{{{ARXIV_NS}}}announce_type").text = "new"
        etree.SubElement(item, f"{{{DC_NS}}}creator").text = ", ".join(r["authors"])
    return etree.tostring(rss, xml_declaration=True, encoding="UTF-8")


@pytest.fixture
def listing_radar(db_url: str, httpserver: HTTPServer) -> Iterator[Radar]:
    with make_radar(
        db_url, allow_private_networks=True, arxiv_rss_url=httpserver.url_for("/rss")
    ) as radar:
        yield radar


def test_papers_repeated_across_daily_listings_collapse(
    shared_data: Path, httpserver: HTTPServer, listing_radar: Radar
) -> None:
    folder = shared_data / "arxiv" / "daily-listing"
    days = sorted(folder.glob("*.jsonl"))
    source = listing_radar.add_source("arxiv:cs.CV,cs.LG,cs.AI")
    all_ids: list[str] = []
    for path in days:
        records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
        all_ids += [r["id"] for r in records]
        body = listing_rss(records, date.fromisoformat(path.stem))
        httpserver.clear_all_handlers()
        httpserver.expect_request("/rss/cs.AI+cs.CV+cs.LG").respond_with_data(
            body, content_type="application/rss+xml"
        )
        summary = listing_radar.update([source.id], force=True)
        assert summary.failed == 0, summary.sources
    unique = set(all_ids)
    assert len(all_ids) - len(unique) == 60  # the real listings repeat 60 papers
    stats = listing_radar.stats()
    assert stats.papers == len(unique)
    assert listing_radar.source(source.id).item_count == len(unique)
    assert stats.items_linked_to_papers == len(unique)
    # A repeated paper is one paper, mentioned by the one item of this source.
    repeated = next(i for i in unique if all_ids.count(i) > 1)
    detail = listing_radar.paper(f"https://arxiv.org/abs/{repeated}v1")
    assert detail.paper is not None
    assert [item.url for item in detail.items] == [f"https://arxiv.org/abs/{repeated}"]


def test_a_paper_page_lists_the_items_of_other_sources_that_name_it(
    shared_data: Path, httpserver: HTTPServer, listing_radar: Radar, tmp_path: Path
) -> None:
    """Hugging Face's daily papers link hf.co/papers/<id>: after the snapshot import the
    paper's page shows those items."""
    feed = (shared_data / "feeds" / "hf-daily-papers" / "2025-04-04.xml").read_bytes()
    httpserver.expect_request("/hf.xml").respond_with_data(feed, content_type="application/xml")
    source = listing_radar.add_source(httpserver.url_for("/hf.xml"), discover=False)
    assert listing_radar.update([source.id], force=True).failed == 0
    named = {i for item in listing_radar.items(limit=200) for i in item.arxiv_ids}
    assert named
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        lines = [line for line in f if orjson.loads(line)["id"] in named]
    (tmp_path / "some.jsonl").write_bytes(b"".join(lines))
    listing_radar.import_arxiv_snapshot(tmp_path / "some.jsonl")
    known = [i for i in sorted(named) if listing_radar.paper(i).paper is not None]
    assert known, "the snapshot holds none of the papers of that day"
    detail = listing_radar.paper(known[0])
    assert [item.source_id for item in detail.items] == [source.id]
    assert known[0] in detail.items[0].arxiv_ids
