"""The built-in catalog: well-formed, and covering every resource the seed lists name."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mlradar._catalog.builtin import builtin_entries
from mlradar._catalog.markdown import parse_markdown_list
from mlradar._catalog.paths import stage_of
from mlradar._catalog.urls import match_key
from mlradar._radar import make_radar

# Links in the seed lists that are not resources.  Each needs a reason; the importer already
# drops tweets, t.co links, Reddit comment permalinks and badges, so none is needed today.
NOT_RESOURCES: dict[str, str] = {}

# Resources a seed list names without a usable link (the list wrote "[The Information
# Structuralist]()"): the catalog must still have them, by name.
NAMED_WITHOUT_LINK = {"The Information Structuralist": "information-structuralist"}

SEED_COUNTS = {"000": 31, "001": 24, "002": 147, "003": 45, "004": 14}


@pytest.fixture(scope="module")
def seeds(shared_data: Path) -> list[Path]:
    folder = shared_data.parent / "seeds"
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 5, f"expected the five seed lists in {folder}"
    return files


def builtin_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for e in builtin_entries():
        for url in (e.url, *e.aliases):
            keys[match_key(url)] = e.slug
    return keys


def test_every_seed_resource_is_in_the_builtin_catalog(seeds: list[Path]) -> None:
    keys = builtin_keys()
    missing: list[str] = []
    covered: set[str] = set()
    for path in seeds:
        found = parse_markdown_list(path.read_text(encoding="utf-8")).resources
        assert len(found) == SEED_COUNTS[path.name[:3]], path.name
        for r in found:
            key = match_key(r.url)
            if key in keys:
                covered.add(keys[key])
            elif r.url not in NOT_RESOURCES:
                missing.append(f"{path.name}: {r.name} <{r.url}>")
    assert not missing, "seed resources missing from the built-in catalog:\n" + "\n".join(missing)
    assert len(covered) == 251  # distinct resources across the five lists
    for name, slug in NAMED_WITHOUT_LINK.items():
        entry = next(e for e in builtin_entries() if e.slug == slug)
        assert name in entry.name


def test_builtin_entries_are_complete_and_consistent() -> None:
    entries = builtin_entries()
    assert len(entries) == 252
    kinds = Counter(e.kind for e in entries)
    assert kinds["blog"] >= 25
    assert kinds["course"] >= 15
    assert kinds["book"] >= 15
    assert {
        "newsletter",
        "forum",
        "video",
        "playlist",
        "paper",
        "tool",
        "podcast",
        "person",
    } <= set(kinds)
    for e in entries:
        assert e.description, e.slug
        assert len(e.description) < 300, e.slug
        assert e.description != e.name
    # Feeds named in the issue.
    feeds = {e.slug: e.feed_url for e in entries}
    assert feeds["lil-log"] == "https://lilianweng.github.io/index.xml"
    assert feeds["colah"] == "https://colah.github.io/rss.xml"
    assert feeds["off-the-convex-path"] == "http://www.offconvex.org/feed.xml"


def test_the_catalog_says_what_moved_and_what_died() -> None:
    by_slug = {e.slug: e for e in builtin_entries()}
    # Lil'Log left /lil-log/; the list's address is kept as an alias of the new home.
    assert by_slug["lil-log"].url == "https://lilianweng.github.io/"
    assert "https://lilianweng.github.io/lil-log/" in by_slug["lil-log"].aliases
    assert by_slug["openai-news"].url == "https://openai.com/news/"
    assert by_slug["arxiv-sanity"].url == "https://arxiv-sanity-lite.com/"
    for slug in ("wildml-newsletter", "the-neural-perspective", "floydhub", "spell"):
        assert by_slug[slug].retired, slug
    assert sum(1 for e in entries_with_retired()) == 5


def entries_with_retired() -> list[str]:
    return [e.slug for e in builtin_entries() if e.retired]


def test_the_study_guide_resources_have_stages() -> None:
    by_slug = {e.slug: e for e in builtin_entries()}
    expected = {
        "3b1b-essence-of-linear-algebra": "linear-algebra",
        "3b1b-bayes-theorem": "probability",
        "3b1b-essence-of-calculus": "calculus",
        "automate-the-boring-stuff": "python",
        "machine-learning-specialization-ng": "machine-learning",
        "3b1b-neural-networks": "deep-learning",
        "karpathy-zero-to-hero": "llm",
        "robert-miles-ai-safety": "safety",
        "neel-nanda-mechinterp-guide": "interpretability",
        "how-to-read-a-paper": "research",
    }
    for slug, stage in expected.items():
        found = stage_of(by_slug[slug].topics)
        assert found is not None, slug
        assert found.key == stage, slug


def test_loading_is_idempotent_and_keeps_imported_origins(db_url: str, seeds: list[Path]) -> None:
    with make_radar(db_url) as radar:
        assert radar.load_catalog() == 252
        result = radar.import_markdown(str(seeds[3]))
        assert (result.found, result.added, result.merged) == (45, 0, 45)
        assert radar.load_catalog() == 252
        entries = radar.catalog()
        assert len(entries) == 252
        zero_to_hero = radar.catalog_entry("karpathy-zero-to-hero")
        assert [o.origin for o in zero_to_hero.origins] == ["builtin", str(seeds[3].absolute())]
        assert zero_to_hero.origins[1].heading_path == (
            "Machine Learning",
            "Large Language Models",
        )
        # A built-in entry keeps its own words when a list names it.
        assert zero_to_hero.name == "Neural Networks: Zero to Hero (Andrej Karpathy)"


def test_catalog_storage_on_every_database(any_db_url: str) -> None:
    """The catalog's SQL on SQLite and PostgreSQL: load, import, OPML, checks, progress."""
    from datetime import UTC, datetime

    from mlradar.types import LinkStatus

    opml = (
        b'<opml version="2.0"><head><title>t</title></head><body><outline text="A">'
        b'<outline text="B" xmlUrl="https://b.example/feed"/></outline></body></opml>'
    )
    with make_radar(any_db_url) as radar:
        assert radar.init_profile("news").catalog_entries == 252
        imported = radar.import_markdown_text(
            "## Books\n* [Lil'Log](https://lilianweng.github.io/lil-log/)\n"
            "* [New book](https://books.example/new) - a new one\n",
            origin="mini",
        )
        assert (imported.added, imported.merged) == (1, 1)
        assert radar.catalog_entry("new-book").kind == "book"
        assert radar.import_opml(opml).added == 1
        assert parse_opml_tags(radar.export_opml()) == ["A", "catalog"]
        when = datetime(2026, 1, 2, tzinfo=UTC)
        entry = radar.catalog_entry("new-book")
        radar._storage.record_link_check(
            entry.id, LinkStatus("moved", when, 301, "https://b.example/x"), "b.example/x"
        )
        moved = radar.catalog_entry("new-book")
        assert moved.link == LinkStatus("moved", when, 301, "https://b.example/x")
        assert "https://b.example/x" in moved.aliases
        radar.mark_done("new-book")
        assert radar._storage.path_progress(radar._user_id).keys() == {entry.id}


def parse_opml_tags(data: bytes) -> list[str]:
    from mlradar._catalog.opml import parse_opml

    return [o.get("text") or "" for o in parse_opml(data).outlines if not o.is_feed]
