"""OPML: import into sources, export back exactly, folders as tags, hostile files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar._catalog.opml import OpmlDocument, OpmlOutline, flatten, parse_opml, write_opml
from mlradar._radar import make_radar
from mlradar.cli import app
from mlradar.exceptions import ParseError

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"

# Feeds per real OPML file (the data-science-blogs list has 247).
EXPECTED_FEEDS = {
    "ai-news-opml/ai.opml": 34,
    "brandonhimpfen-feeds/data-science.opml": 32,
    "brandonhimpfen-feeds/engineering-feeds.opml": 353,
    "brandonhimpfen-feeds/programming-feeds.opml": 11,
    "data-science-blogs/data-science.opml": 247,
    "roman-c-e-opml/ai.opml": 4,
    "subhajit-rss/ml.opml": 11,
}


def opml_files(shared_data: Path) -> dict[str, Path]:
    root = shared_data / "lists"
    return {str(p.relative_to(root)): p for p in sorted(root.glob("*/*.opml"))}


def test_round_trip_is_exact_on_every_real_opml_file(shared_data: Path, tmp_path: Path) -> None:
    files = opml_files(shared_data)
    assert set(files) == set(EXPECTED_FEEDS)
    for i, (name, path) in enumerate(files.items()):
        original = path.read_bytes()
        with make_radar(f"sqlite:///{tmp_path / f'{i}.sqlite'}") as radar:
            result = radar.import_opml(str(path))
            assert (result.feeds, result.added, result.skipped) == (
                EXPECTED_FEEDS[name],
                EXPECTED_FEEDS[name],
                (),
            ), name
            exported = radar.export_opml()
            # Same head, same outline tree, same attributes in the same order.
            assert parse_opml(exported) == parse_opml(original), name
            # Importing the export again changes nothing.
            again = radar.import_opml(exported)
            assert (again.added, again.existing) == (0, EXPECTED_FEEDS[name]), name
            assert radar.export_opml() == exported, name


def test_folders_become_tags(shared_data: Path, db_url: str) -> None:
    path = shared_data / "lists/data-science-blogs/data-science.opml"
    with make_radar(db_url) as radar:
        radar.import_opml(str(path))
        tagged = radar.sources(tag="Data science blogs")
        assert len(tagged) == 247
        otoro = next(s for s in tagged if s.url == "http://blog.otoro.net/feed.xml")
        assert otoro.name == "大トロ"
        assert otoro.home_url == "http://blog.otoro.net/"


def test_nested_folders_and_a_feed_in_two_folders(db_url: str) -> None:
    path = FIXTURES / "nested.opml"
    with make_radar(db_url) as radar:
        result = radar.import_opml(str(path))
        assert (result.feeds, result.added, result.folders) == (6, 5, 3)
        assert result.skipped == ("outline 'A bookmark, not a feed': no xmlUrl and no children",)
        by_url = {s.url: s for s in radar.sources()}
        assert by_url["https://parameterfree.com/feed/"].tags == ("Research/Theory∕Optimization",)
        assert by_url["http://www.offconvex.org/feed.xml"].tags == ("News", "Research")
        assert by_url["https://top.example/feed.xml"].tags == ()
        # "feed://" is the old spelling of http://.
        assert "http://last.example/rss" in by_url
        exported = parse_opml(radar.export_opml())
    original = parse_opml(path.read_bytes())
    news = original.outlines[2]
    without_bookmark = replace(news, children=news.children[:1])
    expected = replace(
        original, outlines=(*original.outlines[:2], without_bookmark, original.outlines[3])
    )
    assert exported == expected


def test_tags_added_later_become_folders(db_url: str) -> None:
    with make_radar(db_url) as radar:
        radar.import_opml(str(FIXTURES / "nested.opml"))
        top = next(s for s in radar.sources() if s.url == "https://top.example/feed.xml")
        radar.tag_source(top.id, add=["Later/Sub"])
        doc = parse_opml(radar.export_opml())
    later = doc.outlines[-1]
    assert later.get("text") == "Later"
    assert later.children[0].get("text") == "Sub"
    assert later.children[0].children[0].get("xmlUrl") == "https://top.example/feed.xml"
    assert all(o.get("xmlUrl") != "https://top.example/feed.xml" for o in doc.outlines[:-1])


def test_cli_import_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    result = runner.invoke(
        app, ["--db", db, "sources", "import", str(FIXTURES / "nested.opml"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"added": 5' in result.stdout
    out = tmp_path / "out.opml"
    result = runner.invoke(app, ["--db", db, "sources", "export", "--opml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert flatten(parse_opml(out.read_bytes())).feeds[0].url == "https://top.example/feed.xml"
    result = runner.invoke(app, ["--db", db, "sources", "export", "--opml"])
    assert result.stdout.startswith("<?xml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed"),
        (b"<html><body/></html>", "not OPML"),
        (b"<opml version='1.0'><head/></opml>", "no <body>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>'
            b'<outline text="&b;" xmlUrl="https://x.example/f"/></body></opml>',
            "DTD is refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml><body/></opml>',
            "DTD is refused",
        ),
    ],
)
def test_hostile_or_broken_files_fail_with_one_line(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_opml(data, "bad.opml")
    assert "\n" not in str(info.value)


def test_a_stray_ampersand_is_recovered_and_bad_urls_are_skipped(db_url: str) -> None:
    data = (
        b'<opml version="1.0"><body>'
        b'<outline text="R & D" xmlUrl="https://rd.example/feed"/>'
        b'<outline text="local" xmlUrl="file:///etc/passwd"/>'
        b'<outline text="relative" xmlUrl="/feed.xml"/>'
        b"</body></opml>"
    )
    with make_radar(db_url) as radar:
        result = radar.import_opml(data)
        assert result.added == 1
        assert len(result.skipped) == 2
        assert [s.name for s in radar.sources()] == ["R & D"]


def test_existing_sources_are_not_duplicated(db_url: str) -> None:
    with make_radar(db_url) as radar:
        radar.init_profile("researcher")
        before = len(radar.sources())
        result = radar.import_opml(str(FIXTURES / "nested.opml"))
        # Off the Convex Path, Parameter-free and arg min are in the researcher profile.
        assert (result.added, result.existing) == (2, 3)
        assert len(radar.sources()) == before + 2
        convex = next(s for s in radar.sources() if s.url == "http://www.offconvex.org/feed.xml")
        assert convex.tags == ("News", "Research", "catalog/researcher")


def test_writer_escapes_and_reads_back() -> None:
    doc = OpmlDocument(
        version="2.0",
        head=(("title", "<&>"),),
        outlines=(
            OpmlOutline((("text", 'a "quoted" & <tagged>'), ("xmlUrl", "https://x/?a=1&b=2"))),
        ),
    )
    assert parse_opml(write_opml(doc)) == doc
