"""PMLR volumes: what users type, the volume page read with lxml (its odd cases too), and
``sources add`` through ``update`` against a page written after PMLR's own, joined to real
arXiv papers imported from ``../shared/data``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar import make_radar
from mlradar._config import Settings
from mlradar._connectors.pmlr import PmlrConnector, parse_volume, parse_volume_page, venue_of
from mlradar.cli import app
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import PaperId
from tests.feedserver import serving
from tests.test_connector_openreview import _corpus_subset

PAGE = (Path(__file__).parent / "fixtures" / "pmlr" / "v267-index.html").read_bytes()
DEBLUR, PRIVACY = "2503.12572", "2503.12464"  # real arXiv papers the page's papers are


@pytest.mark.parametrize(
    "text",
    [
        "pmlr:v235",
        "pmlr:235",
        "PMLR:V235",
        "https://proceedings.mlr.press/v235/",
        "https://proceedings.mlr.press/v235",
        "proceedings.mlr.press/v235/index.html",
    ],
)
def test_a_volume_is_named_by_its_number_or_its_page(text: str) -> None:
    spec = PmlrConnector(Settings()).parse_spec(text)
    assert spec is not None
    assert (spec.kind, spec.url, spec.config["volume"]) == ("pmlr", "pmlr:v235", "v235")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pmlr:icml", "not a PMLR volume"),
        ("https://proceedings.mlr.press/v235/smith24a.html", "follow a volume"),
    ],
)
def test_what_names_no_volume_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_volume(text)


def test_other_input_is_not_pmlrs() -> None:
    assert parse_volume("https://example.org/v235/") is None
    assert parse_volume("arxiv:cs.LG") is None


@pytest.mark.parametrize(
    ("heading", "venue"),
    [
        (
            "Volume 235: International Conference on Machine Learning, 21-27 July 2024, "
            "Vienna, Austria",
            "ICML 2024 (PMLR v235)",
        ),
        (
            "Volume 238: Proceedings of The 27th International Conference on Artificial "
            "Intelligence and Statistics, 2-4 May 2024, Palau de Congressos, Valencia, Spain",
            "AISTATS 2024 (PMLR v238)",
        ),
        (
            "Volume 247: The Thirty Seventh Annual Conference on Learning Theory, 30 June - "
            "3 July 2023, Edmonton, Canada",
            "COLT 2023 (PMLR v247)",
        ),
        ("Volume 9: Some Workshop on Things, 2010", "Some Workshop on Things 2010 (PMLR v9)"),
        (None, "PMLR v1"),
    ],
)
def test_the_venue_comes_from_the_volume_heading(heading: str | None, venue: str) -> None:
    volume = venue.rsplit(" ", 1)[-1].rstrip(")")
    assert venue_of(heading, volume) == venue


def test_the_page_becomes_papers_with_their_pmlr_ids_links_and_venue() -> None:
    page = parse_volume_page(PAGE, "https://proceedings.mlr.press/v267/", "v267")
    assert page.venue == "ICML 2025 (PMLR v267)"
    assert page.skipped == 1  # the paper without an abstract page
    deblur, zebra, privacy = page.papers
    assert deblur.title == "Deblur Gaussian Splatting SLAM"  # BibTeX braces dropped
    assert deblur.authors == (
        "Francesco Girlanda",
        "Denys Rozumnyi",
        "Marc Pollefeys",
        "Martin R. Oswald",
    )
    assert deblur.ids == (PaperId("pmlr", "v267/girlanda25a"), PaperId("openreview", "Gsl4mDb1"))
    assert deblur.url == "https://proceedings.mlr.press/v267/girlanda25a.html"
    assert deblur.pdf is not None and deblur.pdf.endswith("girlanda25a.pdf")
    # A relative abstract link, and the supplementary PDF is not the paper's.
    assert zebra.url == "https://proceedings.mlr.press/v267/hopper25b.html"
    assert zebra.pdf is not None and zebra.pdf.endswith("hopper25b.pdf")
    assert zebra.title == "Zebracorn Herding with Sparse Mixture-of-Experts & Friends"
    assert privacy.venue == "ICML 2025 (PMLR v267)"
    entry = page.entries[0]
    assert entry.key == "id:pmlr:v267/girlanda25a"
    assert entry.refs == (("pmlr", "v267/girlanda25a"), ("openreview", "Gsl4mDb1"))
    assert entry.categories == ("ICML 2025 (PMLR v267)",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response"),
        (b"<html><body><h1>Volume 1</h1><p>nothing here</p></body></html>", "no div.paper"),
        (b'{"not": "html"}', "no div.paper"),
    ],
)
def test_a_page_that_is_no_volume_is_a_clear_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_volume_page(body, "https://proceedings.mlr.press/v1/", "v1")


def test_a_volume_from_add_to_update_joins_its_arxiv_papers(
    db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    with serving() as server:
        server.add("/v267/", PAGE, content_type="text/html; charset=utf-8")
        with make_radar(db_url, allow_private_networks=True, pmlr_url=server.base) as radar:
            imported = radar.import_arxiv_snapshot(
                _corpus_subset(shared_data, tmp_path), index=False
            )
            source = radar.add_source("https://proceedings.mlr.press/v267/")
            assert source.kind == "pmlr"
            summary = radar.update()
            assert (summary.new, summary.failed) == (3, 0), summary
            assert summary.sources[0].warning is not None
            assert "1 papers" in summary.sources[0].warning
            source = radar.source(source.id)
            assert source.title == "ICML 2025 (PMLR v267)"
            # Two papers are the arXiv papers of their title and first author; one is new.
            assert radar.stats().papers == imported.papers + 1
            deblur = radar.paper(DEBLUR)
            assert deblur.paper is not None
            assert deblur.paper.venue == "ICML 2025 (PMLR v267)"
            assert PaperId("pmlr", "v267/girlanda25a") in deblur.paper.ids
            assert deblur.paper.abstract  # arXiv's abstract stays: the page has none
            assert [i.source_kind for i in deblur.items] == ["pmlr"]
            assert radar.paper("pmlr:v267/xompero25a").paper == radar.paper(PRIVACY).paper
            # The command line shows the venue.
            runner = CliRunner()
            shown = runner.invoke(app, ["--db", db_url, "paper", DEBLUR])
            assert shown.exit_code == 0, shown.output
            assert "venue: ICML 2025 (PMLR v267)" in shown.output
            assert "pmlr:v267/girlanda25a" in shown.output
            assert "page https://proceedings.mlr.press/v267/girlanda25a.html" in shown.output
            shown = runner.invoke(app, ["--db", db_url, "paper", "pmlr:v267/hopper25b", "--json"])
            assert shown.exit_code == 0, shown.output
            record = json.loads(shown.output)["paper"]
            assert (record["arxiv_id"], record["venue"]) == (None, "ICML 2025 (PMLR v267)")
            shown = runner.invoke(app, ["--db", db_url, "paper", "pmlr:v267/hopper25b"])
            assert "pmlr:v267/hopper25b" in shown.output and "arXiv:None" not in shown.output
            # The page unchanged: a conditional GET, nothing parsed again.
            again = radar.update(force=True)
            assert again.sources[0].not_modified
            assert radar.stats().papers == imported.papers + 1
