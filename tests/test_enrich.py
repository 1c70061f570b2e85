"""Semantic Scholar enrichment: the recorded real API responses served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlradar import make_radar
from mlradar._config import Settings
from mlradar._enrich import S2Client, s2_policies
from mlradar._enrich.s2 import parse
from mlradar.exceptions import ParseError
from tests.connector_support import vcr_body
from tests.feedserver import FeedServer, serving

TURING = "DOI:10.1093/mind/lix.236.433"
UNKNOWN = "arXiv:2512.99999"
BROKEN = "DOI:10.1000/broken"


def _cassette(data: Path, name: str) -> str:
    return vcr_body(data / name)


@pytest.fixture
def s2_data(shared_data: Path) -> Path:
    return shared_data / "semanticscholar" / "tests" / "data"


@pytest.fixture
def api(s2_data: Path) -> Iterator[FeedServer]:
    def setup(server: FeedServer) -> None:
        client = S2Client(None, server.base)  # type: ignore[arg-type]

        def route(kind: str, ref: str, body: str, status: int = 200) -> None:
            path = client.url(kind, ref)[len(server.base) :]  # type: ignore[arg-type]
            server.add(path, body, content_type="application/json", status=status)

        route("paper", TURING, (s2_data / "Paper.json").read_text("utf-8"))
        route("references", TURING, _cassette(s2_data, "test_get_paper_references.yaml"))
        route("citations", TURING, _cassette(s2_data, "test_get_paper_citations.yaml"))
        route("recommendations", TURING, _cassette(s2_data, "test_get_recommended_papers.yaml"))
        route("paper", UNKNOWN, _cassette(s2_data, "test_not_found.yaml"), status=404)
        route("paper", BROKEN, '{"paperId": 5, "title": "x"}')

    with serving(setup) as server:
        yield server


def test_enrich_caches_real_answers_resumes_and_confines_a_bad_answer(
    db_url: str, api: FeedServer
) -> None:
    with make_radar(
        db_url,
        allow_private_networks=True,
        s2_api_url=api.base,
        s2_api_key="secret-key",
        s2_interval_seconds=0,
    ) as radar:
        done: list[str] = []
        summary = radar.enrich(
            ["doi:10.1093/mind/lix.236.433", UNKNOWN, "doi:10.1000/broken"],
            progress=lambda n, total, ref: done.append(f"{n}/{total}"),
        )
        assert done == ["1/3", "2/3", "3/3"]
        assert (summary.papers, summary.fetched, summary.cached) == (3, 5, 0)
        [bad] = summary.failed
        assert "paperId is not text" in bad and "10.1000/broken" in bad
        turing = summary.enriched[0]
        assert turing.title == "Computing Machinery and Intelligence"
        assert (turing.citation_count, turing.influential_citation_count) == (10059, 530)
        assert turing.venue == "The Philosophy of Artificial Intelligence"
        assert turing.year == 1950
        assert len(turing.references) > 10 and len(turing.citations) > 50
        assert len(turing.recommended) > 10
        assert all(p.s2_id for p in turing.references)
        assert summary.enriched[1].error == "Semantic Scholar does not know this paper"
        assert all(r.headers.get("x-api-key") == "secret-key" for r in api.requests)
        # Re-run: the fresh answers are not asked again; the broken one is.
        asked = len(api.requests)
        again = radar.enrich(["doi:10.1093/mind/lix.236.433", UNKNOWN, "doi:10.1000/broken"])
        assert (again.fetched, again.cached) == (0, 5)
        assert len(api.requests) == asked + 1
        assert radar.enrichment("doi:10.1093/mind/lix.236.433").citation_count == 10059
        assert radar.enrich([TURING], refresh=True).fetched == 4


def test_politeness_is_one_request_a_second_without_a_key() -> None:
    slow = s2_policies(Settings(s2_interval_seconds=0))
    assert {p.min_interval for p in slow.values()} == {1.0}
    assert all(p.max_connections == 1 for p in slow.values())
    keyed = s2_policies(Settings(s2_interval_seconds=0.1, s2_api_key="k"))
    assert {p.min_interval for p in keyed.values()} == {0.1}
    assert "api.semanticscholar.org" in keyed


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("paper", "[1, 2]", "not an object"),
        ("paper", "<html>", "not JSON"),
        ("paper", '{"citationCount": "many"}', "citationCount is not a number"),
        ("references", '{"data": 3}', "no 'data' list"),
        ("citations", '{"data": [{"citedPaper": {}}]}', "has no 'citingPaper'"),
        (
            "recommendations",
            '{"recommendedPapers": [{"paperId": "a", "externalIds": 3}]}',
            "externalIds is not an object",
        ),
    ],
)
def test_an_unexpected_shape_is_a_clear_parse_error(kind: str, body: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(kind, body)  # type: ignore[arg-type]


def test_the_enrich_command_shows_and_prints_json(
    db_url: str, api: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from mlradar.cli import app

    monkeypatch.setenv("MLRADAR_S2_API_URL", api.base)
    monkeypatch.setenv("MLRADAR_S2_API_KEY", "k")
    monkeypatch.setenv("MLRADAR_S2_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "true")
    runner = CliRunner()
    shown = runner.invoke(app, ["--db", db_url, "enrich", "doi:10.1093/mind/lix.236.433"])
    assert shown.exit_code == 0, shown.output
    assert "10059" in shown.output and "4 answer(s) fetched" in shown.output
    as_json = runner.invoke(app, ["--db", db_url, "enrich", TURING, "--json"])
    data = json.loads(as_json.output)
    assert data["cached"] == 4 and data["enriched"][0]["citation_count"] == 10059
    nothing = runner.invoke(app, ["--db", db_url, "enrich"])
    assert nothing.exit_code == 1 and "name papers to enrich" in nothing.output
