"""parse_feed on real feeds, hand-written fixtures and hostile documents; feed discovery."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mlradar._model import ParsedFeed
from mlradar._sources import feed as feed_module
from mlradar._sources.discovery import (
    _SNIFF_BYTES,
    _head_text,
    discover_feeds,
    looks_like_feed,
    sniff,
)
from mlradar._sources.feed import MAX_REFERENCES, MAX_TAGS, parse_feed
from mlradar._sources.prepare import MAX_ENTITY_EXPANSION, count_markup, prepare_xml
from mlradar.exceptions import ParseError

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

BLOG_FEEDS = [
    "feeds/blogs/lilianweng/index.xml",
    "feeds/blogs/colah/rss.xml",
    "feeds/blogs/offconvex/_site/feed.xml",
    "feeds/blogs/yang-song/feed.xml",
    "feeds/blogs/jakevdp/feeds/all.atom.xml",
]


# Where conftest's shared_data fixture points; needed at collection time to name the cases.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# Real entries dated "Mon, 01 Jan 0001" (Hugo's zero date for undated pages): no date.
PLACEHOLDER_DATES = {("feeds/blogs/lilianweng/index.xml", "FAQ")}


def _real_feeds() -> list[str]:
    labs = sorted(
        str(p.relative_to(SHARED_DATA)) for p in (SHARED_DATA / "feeds" / "labs").rglob("*.xml")
    )
    hf = sorted(
        str(p.relative_to(SHARED_DATA))
        for p in (SHARED_DATA / "feeds" / "hf-daily-papers").glob("*")
        if p.suffix in (".xml", ".json")
    )
    # An empty list (data missing) still yields the blog ids, whose tests then skip.
    return BLOG_FEEDS + labs + hf


def _parse_real(shared_data: Path, rel: str) -> ParsedFeed:
    path = shared_data / rel
    return parse_feed(path.read_bytes(), "https://feeds.example/" + rel)


# -- real feeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", _real_feeds())
def test_every_real_entry_has_title_link_date_and_text(shared_data: Path, rel: str) -> None:
    feed = _parse_real(shared_data, rel)
    assert feed.entries, rel
    assert feed.warning is None
    assert feed.title
    keys = [e.key for e in feed.entries]
    assert len(set(keys)) == len(keys)
    for e in feed.entries:
        assert e.title, e
        assert e.link is not None
        assert e.link.startswith(("http://", "https://"))
        assert e.url is not None
        date = e.published_at or e.updated_at
        if (rel, e.title) in PLACEHOLDER_DATES:
            assert date is None
            continue
        assert date is not None, e.title
        assert date.tzinfo is UTC
        assert datetime(1990, 1, 1, tzinfo=UTC) < date < datetime(2030, 1, 1, tzinfo=UTC)
        # Some real entries have no body at all (an HF paper without abstract, a changelog
        # title): those, and only those, have no text.
        if e.content_html or e.summary_html:
            assert e.text, e.title
        else:
            assert e.text == ""
        assert len(e.text) <= feed_module.MAX_TEXT_CHARS
        assert len(e.content_hash) == 64
        assert not re.search(r"<script|javascript:|\son\w+=", e.content_html or "", re.I)


def test_real_feeds_have_text_for_almost_every_entry(shared_data: Path) -> None:
    entries = [e for rel in _real_feeds() for e in _parse_real(shared_data, rel).entries]
    with_text = sum(1 for e in entries if e.text)
    assert len(entries) > 3500
    assert with_text / len(entries) > 0.97


def test_hf_daily_papers_entries_name_their_arxiv_paper(shared_data: Path) -> None:
    files = sorted((shared_data / "feeds" / "hf-daily-papers").glob("*.*"))
    assert len(files) == 11
    ids: set[str] = set()
    for path in files:
        feed = parse_feed(path.read_bytes(), "https://hf.example/" + path.name)
        for e in feed.entries:
            assert e.link is not None
            from_link = e.link.rsplit("/", 1)[-1]
            assert e.arxiv_ids[0] == from_link, e.link
            ids.update(e.arxiv_ids)
    # The same papers are in the arXiv metadata: the cross-source join works on these ids.
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz") as f:
        known = set(re.findall(rb'^\{"id": "([^"]+)"', f.read(), re.MULTILINE))
    found = sum(1 for i in ids if i.encode() in known)
    assert found / len(ids) > 0.5


def test_colah_non_standard_dates(shared_data: Path) -> None:
    # "Thurs, 30 May 2019 00:00:00 UTC": a day name RFC 822 does not know.
    feed = _parse_real(shared_data, "feeds/blogs/colah/rss.xml")
    dates = [e.published_at for e in feed.entries]
    assert dates[0] == datetime(2019, 5, 30, tzinfo=UTC)
    assert datetime(2015, 9, 3, tzinfo=UTC) in dates


def test_blog_entries_link_their_papers(shared_data: Path) -> None:
    feed = _parse_real(shared_data, "feeds/blogs/offconvex/_site/feed.xml")
    assert sum(len(e.arxiv_ids) for e in feed.entries) >= 10
    for e in feed.entries:
        for ident in e.arxiv_ids:
            assert re.fullmatch(r"\d{4}\.\d{4,5}|[a-z-]+/\d{7}", ident)


def test_full_content_atom_keeps_content_once(shared_data: Path) -> None:
    feed = _parse_real(shared_data, "feeds/blogs/jakevdp/feeds/all.atom.xml")
    # One post's summary is nothing but a notebook's <style> block: nothing survives.
    assert sum(1 for e in feed.entries if e.content_html or e.summary_html) >= 60
    for e in feed.entries:
        assert e.summary_html is None or e.summary_html != e.content_html
        assert e.author == "Jake VanderPlas"
    assert any(e.categories for e in feed.entries)


def test_json_feed_latest(shared_data: Path) -> None:
    feed = _parse_real(shared_data, "feeds/hf-daily-papers/latest.json")
    assert feed.title == "Hugging Face Papers"
    assert feed.home_url == "https://huggingface.co/"
    # Naive JSON Feed dates are read as UTC.
    assert all(e.published_at and e.published_at.tzinfo is UTC for e in feed.entries)


def test_parsing_is_deterministic(shared_data: Path) -> None:
    data = (shared_data / "feeds/blogs/lilianweng/index.xml").read_bytes()
    a = parse_feed(data, "https://lilianweng.github.io/index.xml")
    b = parse_feed(data, "https://lilianweng.github.io/index.xml")
    assert a == b


# -- encodings -------------------------------------------------------------------------------

MINIFLUX = "feed-corpus/miniflux/internal/reader"


@pytest.mark.parametrize(
    ("rel", "title", "warned"),
    [
        (f"{MINIFLUX}/encoding/testdata/utf8.xml", "테스트 피드", False),
        (f"{MINIFLUX}/encoding/testdata/utf8-incorrect-prolog.xml", "테스트 피드", True),
        (f"{MINIFLUX}/encoding/testdata/invalid-prolog.xml", "테스트 피드", True),
        (f"{MINIFLUX}/encoding/testdata/windows-1252.xml", "Euro €", False),
        (f"{MINIFLUX}/encoding/testdata/windows-1252-incorrect-prolog.xml", "Euro €", True),
        (f"{MINIFLUX}/encoding/testdata/iso-8859-1.xml", "Café", False),
        (f"{MINIFLUX}/encoding/testdata/koi8r.xml", "Пример RSS ленты", False),
        (f"{MINIFLUX}/parser/testdata/encoding_WINDOWS-1251.xml", "iBash.Org.Ru", False),
        (f"{MINIFLUX}/parser/testdata/encoding_ISO-8859-1.xml", "Golem.de", False),
        (f"{MINIFLUX}/parser/testdata/urdu_UTF8.xml", None, False),
    ],
)
def test_encodings(shared_data: Path, rel: str, title: str | None, warned: bool) -> None:
    feed = parse_feed((shared_data / rel).read_bytes(), "https://enc.example/feed")
    if title is not None:
        assert feed.title == title
    assert (feed.warning is not None) == warned
    for e in feed.entries:
        assert "\ufffd" not in (e.title or "") + e.text
        assert "Ã" not in (e.title or "")


def test_windows_1251_entries_decode(shared_data: Path) -> None:
    rel = f"{MINIFLUX}/parser/testdata/encoding_WINDOWS-1251.xml"
    feed = parse_feed((shared_data / rel).read_bytes(), "https://enc.example/feed")
    assert feed.entries[0].title == "Цитата #17703"


def test_undeclared_latin1_falls_back(shared_data: Path) -> None:
    rel = f"{MINIFLUX}/parser/testdata/no_encoding_ISO-8859-1.xml"
    feed = parse_feed((shared_data / rel).read_bytes(), "https://enc.example/feed")
    assert feed.warning is not None
    assert "é" in (feed.entries[0].title or "") + feed.entries[0].text


@pytest.mark.parametrize(
    ("body", "content_type", "title"),
    [
        # RFC 7303: text/xml without charset follows the XML declaration (RFC 3023 said ASCII).
        ("<?xml version='1.0' encoding='utf-8'?>", "text/xml", "Ünïcode — ok"),
        ("", "text/xml; charset=iso-8859-1", "Ünïcode — ok"),  # mislabelled UTF-8
        ("", "application/rss+xml", "Ünïcode — ok"),
        ("", None, "Ünïcode — ok"),
    ],
)
def test_content_type_and_declaration(body: str, content_type: str | None, title: str) -> None:
    doc = f"{body}<rss version='2.0'><channel><title>{title}</title></channel></rss>"
    feed = parse_feed(doc.encode("utf-8"), "https://enc.example/", content_type=content_type)
    assert feed.title == title


def test_header_charset_is_honoured_for_legacy_bytes() -> None:
    doc = "<rss version='2.0'><channel><title>Café crème</title></channel></rss>"
    feed = parse_feed(
        doc.encode("latin-1"), "https://enc.example/", content_type="text/xml; charset=ISO-8859-1"
    )
    assert feed.title == "Café crème"
    assert feed.warning is None


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_encodings(codec: str) -> None:
    doc = (
        f"<?xml version='1.0' encoding='{codec}'?><rss version='2.0'><channel><title>Wide ✓"
        "</title><item><title>ok &amp; fine</title><link>https://w.example/1</link></item>"
        "</channel></rss>"
    )
    data = doc.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + doc).encode(codec)
    feed = parse_feed(data, "https://w.example/")
    assert feed.title == "Wide ✓"
    assert feed.entries[0].title == "ok & fine"


# -- fixtures: hostile content, relative links, JSON Feed, keys ------------------------------


def _fixture(name: str, url: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), url, content_type=content_type)


def test_hostile_feed_stores_no_script() -> None:
    feed = _fixture("hostile.rss", "https://hostile.example/feed.xml")
    assert feed.title == "Hostile blog"  # markup in a title is flattened to text
    assert feed.home_url is None  # javascript: link dropped
    (e,) = feed.entries
    assert e.link is None
    assert e.url is None
    assert e.key == "id:hostile-1"
    stored = "\n".join(x for x in (e.summary_html, e.content_html) if x)
    assert not re.search(
        r"<script|<style|<svg|<math|<iframe|<form|<input|javascript:|data:|\son\w+=|style=",
        stored,
        re.IGNORECASE,
    ), stored
    assert e.content_html is not None
    assert '<img src="https://hostile.example/pic.png">' in e.content_html
    assert 'href="https://hostile.example/relative/page"' in e.content_html
    assert "Real content" in e.text
    assert "alert" not in e.text
    assert e.arxiv_ids == ("2503.11677",)
    assert e.dois == ("10.1000/xyz123",)


def test_atom_relative_links_titles_and_dates() -> None:
    feed = _fixture("atom_relative.xml", "https://research.example/feed.atom")
    assert feed.title == "Research & Notes"
    assert feed.home_url == "https://research.example/blog/"
    first, second = feed.entries
    assert first.title == "Scaling laws revisited"
    assert first.link == "https://research.example/blog/posts/scaling/"
    assert first.author == "Ada Researcher"
    assert first.categories == ("scaling", "LLM")
    assert first.published_at == datetime(2024, 6, 1, 7, 30, tzinfo=UTC)
    assert first.updated_at == datetime(2024, 6, 2, 12, 0, tzinfo=UTC)
    assert first.summary_html is None  # Atom content only: not stored twice
    assert first.content_html is not None
    assert 'src="https://research.example/blog/posts/scaling/fig1.png"' in first.content_html
    assert 'href="https://research.example/blog/posts/other/"' in first.content_html
    assert first.arxiv_ids == ("2001.08361",)
    assert first.text == "We revisit Kaplan et al. with and a sibling post."
    assert second.title == "Plain text title with <angle> brackets & an ampersand"
    assert second.url == "https://research.example/blog/posts/plain/?id=7"
    assert second.link == "https://research.example/blog/posts/plain/?utm_source=rss&id=7#comments"
    assert second.summary_html == "A &lt;plain&gt; summary, not HTML."
    assert second.text == "A <plain> summary, not HTML."
    assert second.published_at is None  # only <updated>: no invented publication date
    assert second.updated_at == datetime(2024, 5, 1, tzinfo=UTC)


def test_rss_without_update_date_has_none() -> None:
    feed = _fixture("truncated.rss", "https://trunc.example/rss")
    assert feed.entries[0].published_at == datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    assert feed.entries[0].updated_at is None


def test_json_feed_fixture() -> None:
    feed = _fixture("feed.json", "https://json.example/feed.json", "application/feed+json")
    assert feed.title == "JSON research notes"
    assert feed.home_url == "https://json.example/"
    first, second = feed.entries
    assert first.key == "id:note-2"
    assert first.link == "https://json.example/notes/2"
    assert first.title == "Diffusion & friends"
    assert first.author == "Item Author"
    assert first.categories == ("diffusion", "generative")
    assert first.content_html is not None
    assert "<script" not in first.content_html
    assert 'href="https://json.example/papers"' in first.content_html
    assert first.summary_html == "Short &lt;summary&gt;"
    assert first.arxiv_ids == ("2502.03032",)
    assert first.published_at == datetime(2025, 1, 2, 21, 0, tzinfo=UTC)
    assert first.updated_at == datetime(2025, 1, 4, 0, 0, tzinfo=UTC)
    assert second.key == "id:1"
    assert second.link == "https://elsewhere.example/post"
    assert second.author == "Feed Author"
    assert second.content_html == "Plain &lt;text&gt; &amp; nothing else"
    assert second.text == "Plain <text> & nothing else"
    assert second.published_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_repeated_guids_do_not_collapse_entries() -> None:
    feed = _fixture("duplicate_guids.rss", "https://dup.example/rss")
    keys = [e.key for e in feed.entries]
    assert keys[:2] == ["url:https://dup.example/1", "url:https://dup.example/2"]
    assert keys[2].startswith("id:")
    assert keys[3].startswith("hash:")
    assert len(set(keys)) == 4


def test_repeated_entries_in_one_feed() -> None:
    item = "<item><guid>g</guid><link>https://c.example/log#{v}</link><title>{t}</title></item>"
    items = [("1.0", "A"), ("1.0", "A"), ("2.0", "B"), ("2.0", "B2"), ("3.0", "C")]
    doc = "".join(item.format(v=v, t=t) for v, t in items)
    feed = parse_feed(f"<rss version='2.0'><channel>{doc}</channel></rss>".encode(), "u")
    # The verbatim repeat is dropped; the rest share guid and canonical link but keep apart.
    assert [e.title for e in feed.entries] == ["A", "B", "B2", "C"]
    keys = [e.key for e in feed.entries]
    assert keys[0] == "url:https://c.example/log#1.0"
    assert keys[3] == "url:https://c.example/log#3.0"
    assert keys[1].startswith("hash:")
    assert len(set(keys)) == 4


def test_content_hash_tracks_changes() -> None:
    doc = (
        "<rss version='2.0'><channel><item><guid>g1</guid><title>{title}</title>"
        "<description>{body}</description></item></channel></rss>"
    )

    def parse(title: str, body: str) -> str:
        data = doc.format(title=title, body=body).encode()
        (entry,) = parse_feed(data, "https://h.example/").entries
        assert entry.key == "id:g1"
        return entry.content_hash

    assert parse("t", "b") == parse("t", "b")
    assert parse("t", "b") != parse("t", "b2")
    assert parse("t", "b") != parse("t2", "b")


def test_text_is_capped() -> None:
    body = "word " * 50_000
    data = (
        "<rss version='2.0'><channel><item><title>t</title>"
        f"<description>{body}</description></item></channel></rss>"
    )
    (entry,) = parse_feed(data.encode(), "https://cap.example/").entries
    assert len(entry.text) == feed_module.MAX_TEXT_CHARS


# -- errors ------------------------------------------------------------------------------------


def test_html_page_names_its_feeds() -> None:
    with pytest.raises(ParseError) as err:
        _fixture("page_with_feeds.html", "https://blog.example/", "text/html; charset=utf-8")
    message = str(err.value)
    assert "this is an HTML page, not a feed" in message
    assert "https://blog.example/sub/feed.xml" in message
    assert "\n" not in message


def test_html_page_without_feeds() -> None:
    with pytest.raises(ParseError, match="HTML page, not a feed, and it links to no feed"):
        _fixture("page_without_feeds.html", "https://blog.example/")


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"", None, "empty"),
        (b"  \n\t ", "application/rss+xml", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "binary"),
        (bytes(range(256)) * 10, None, "binary"),
        (b"%PDF-1.7\n...", "application/pdf", "binary"),
        (b"\x1f\x8b\x08\x00rest", None, "binary"),
        (b'{"data": [1, 2, 3]}', "application/json", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1"}', None, "no list of items"),
        (b"[1, 2", "application/json", "not valid JSON"),
        (b"[" * 100_000, "application/json", "not valid JSON"),
        (b"<note><to>x</to></note>", "application/xml", "root element is <note>"),
        (b"just some words", "text/plain", "neither XML nor JSON"),
        (b"/etc/passwd", None, "neither XML nor JSON"),
        (b"<html><body>hi</body></html>", None, "HTML page"),
        (b"<p>a fragment</p>", "text/html", "HTML page"),
        (b"<rss version='2.0'><channel><title>cut", None, "not a readable feed"),
        (b"<?xml version='1.0'?><rss version='2.0'></channel>", None, "not a readable feed"),
    ],
)
def test_not_a_feed(data: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse_feed(data, "https://bad.example/feed", content_type=content_type)
    assert err.value.url == "https://bad.example/feed"
    assert "\n" not in str(err.value)


def test_raw_bytes_are_never_taken_for_a_path(tmp_path: Path) -> None:
    # feedparser reads a short string as a file name; parse_feed must never let it.
    secret = tmp_path / "secret.xml"
    secret.write_text("<rss version='2.0'><channel><title>SECRET</title></channel></rss>")
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode(), "https://bad.example/")


def test_truncated_feed_returns_what_it_could_read() -> None:
    feed = _fixture("truncated.rss", "https://trunc.example/rss")
    assert [e.title for e in feed.entries] == ["First post", "Second post"]
    assert feed.warning is not None
    assert "ill-formed XML at line" in feed.warning


def test_empty_but_valid_feed_is_no_error() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>", "u")
    assert feed.title == "Quiet"
    assert feed.entries == ()
    assert feed.warning is None


def test_common_breakage_is_repaired_without_warning() -> None:
    data = (
        b"<rss version='2.0'><channel><title>A &nbsp;&eacute;t&eacute; & a < b \x0c</title>"
        b"<item><title>AT&T&trade;</title><link>https://r.example/?a=1&b=2</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(data, "https://r.example/")
    assert feed.warning is None
    assert feed.title == "A été & a < b"
    assert feed.entries[0].title == "AT&T™"
    assert feed.entries[0].link == "https://r.example/?a=1&b=2"


def test_too_large() -> None:
    with pytest.raises(ParseError, match="too large"):
        parse_feed(b" " * (feed_module.MAX_FEED_BYTES + 1), "https://big.example/")


def test_entry_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "MAX_ENTRIES", 10)
    items = "".join(f"<item><title>{i}</title></item>" for i in range(25))
    feed = parse_feed(f"<rss version='2.0'><channel>{items}</channel></rss>".encode(), "u")
    assert len(feed.entries) == 10
    assert feed.warning is not None
    assert "25 entries" in feed.warning


# -- safety: entities, bombs, pathological markup --------------------------------------------


def test_external_entities_are_never_fetched(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/secret").respond_with_data("LEAKED-SECRET")
    httpserver.expect_request("/evil.dtd").respond_with_data('<!ENTITY leak "LEAKED-DTD">')
    secret, dtd = httpserver.url_for("/secret"), httpserver.url_for("/evil.dtd")
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{dtd}" [
  <!ENTITY file SYSTEM "file:///etc/passwd">
  <!ENTITY web SYSTEM "{secret}">
  <!ENTITY % param SYSTEM "{dtd}">
  %param;
]>
<rss version="2.0"><channel><title>x &file; &web;</title>
<item><title>a &file; b</title><link>https://x.example/1</link>
<description>&web; &leak; &file;</description></item></channel></rss>"""
    feed = parse_feed(doc.encode(), "https://x.example/feed")
    everything = repr(feed)
    assert "root:" not in everything
    assert "LEAKED" not in everything
    assert len(httpserver.log) == 0
    assert feed.entries[0].link == "https://x.example/1"


def _parser_input_is_bounded(doc: bytes) -> None:
    """What reaches feedparser after entity expansion stays within the budget: the parse
    is then linear in the input (costs: benchmarks/hostile_inputs.py)."""
    prepared = prepare_xml(doc, None)
    assert len(prepared.data) <= len(doc) + MAX_ENTITY_EXPANSION


def test_billion_laughs_is_cheap() -> None:
    _parser_input_is_bounded((FIXTURES / "billion_laughs.xml").read_bytes())
    feed = _fixture("billion_laughs.xml", "https://lol.example/rss")
    assert all(len(e.text) < 100 for e in feed.entries)
    assert all(len(e.title or "") < 100 for e in feed.entries)


@pytest.mark.parametrize(("size", "count"), [(5_000, 100_000), (16, 900_000), (200, 50_000)])
def test_quadratic_blowup_is_cheap(size: int, count: int) -> None:
    doc = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * size + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title><description>'
        + b"&a;" * count
        + b"</description><link>https://q.example/1</link></item></channel></rss>"
    )
    _parser_input_is_bounded(doc)
    try:
        feed = parse_feed(doc, "https://q.example/feed")
    except ParseError:
        pass
    else:
        assert sum(len(e.text) for e in feed.entries) <= 16 * count + 100


@pytest.mark.parametrize(
    "doc",
    [
        b'<rss version="2.0"><channel><item><title>x</title>' + b"<" * 5_000_000,
        b'<rss version="2.0"><channel><item><title>x</title><description>'
        + b"<div>" * 200_000
        + b"</description></item></channel></rss>",
        b'<rss version="2.0"><channel>' + b"<item><title>x</title></item>" * 200_000,
        b'<rss version="2.0"><channel><item><title>x</title><description>'
        + b"&lt;div&gt;" * 90_000
        + b"</description></item></channel></rss>",
        b'<rss version="2.0"><channel><item><title>x</title><description><![CDATA['
        + b"<div>" * 500_000
        + b"]]></description></item></channel></rss>",
    ],
    ids=["lt-flood", "nested-elements", "many-items", "escaped-nesting", "cdata-nesting"],
)
def test_pathological_markup_is_bounded(doc: bytes) -> None:
    # Either refused before parsing, or within the markup limits that bound feedparser's
    # time (costs: benchmarks/hostile_inputs.py).
    message = ""
    try:
        parse_feed(doc, "https://p.example/feed")
    except ParseError as err:
        message = str(err)
    if message:
        assert "too big to read safely" in message
    else:
        tags, refs = count_markup(prepare_xml(doc, None).data, (MAX_TAGS, MAX_REFERENCES))
        assert tags <= MAX_TAGS
        assert refs <= MAX_REFERENCES


# -- discovery and sniffing ---------------------------------------------------------------------


def test_discover_feeds() -> None:
    page = (FIXTURES / "page_with_feeds.html").read_bytes()
    assert discover_feeds(page, "https://blog.example/") == [
        "https://blog.example/sub/feed.xml",
        "https://blog.example/atom.xml",
        "https://blog.example/feed.json",
        "https://blog.example/api/feed.json",
    ]
    assert discover_feeds(page.decode(), "https://blog.example/") == discover_feeds(
        page, "https://blog.example/"
    )


def test_discover_feeds_without_base_and_in_broken_html() -> None:
    html = '<link rel=alternate type=application/rss+xml href=/rss><p><link rel="alternate'
    assert discover_feeds(html, "https://x.example/a/b") == ["https://x.example/rss"]
    assert discover_feeds(b"", "https://x.example/") == []
    assert discover_feeds((FIXTURES / "page_without_feeds.html").read_bytes(), "https://x/") == []


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (b"<?xml version='1.0'?>\n<!-- c -->\n<rss version='2.0'>", "text/xml", True),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'>", None, True),
        (b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='x'>", "application/rdf+xml", True),
        (b"\xef\xbb\xbf<rss>", "text/html", True),
        ("<?xml version='1.0' encoding='utf-16'?><rss>".encode("utf-16"), None, True),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', None, True),
        (b'{"items": []}', "application/feed+json", True),
        (b'{"items": []}', "application/json", False),
        (b"<!DOCTYPE html><html><head>", "text/html", False),
        (b"<!-- x --><!doctype HTML>", None, False),
        (b"<html>", None, False),
        (b"<note/>", "application/xml", False),
        (b"", "application/rss+xml", False),
        (b"\x89PNG\r\n", "application/rss+xml", False),
        (b" " * 10_000 + b"x", None, False),
    ],
)
def test_looks_like_feed(data: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_feed(data, content_type) is expected


def test_sniff_reads_a_bounded_head_of_hostile_prologs() -> None:
    assert sniff(b"<!--" + b" " * 100_000) == "text"
    assert sniff(b"<!-- -->" + b" " * 100_000 + b"x") == "text"
    assert sniff(b"<?xml " + b"a" * 100_000) == "text"
    # Only the head is decoded and matched, whatever follows it.
    assert sniff(b"<?xml " + b"a" * 10_000_000) == sniff(b"<?xml " + b"a" * 100_000)
    assert len(_head_text(b"<!--" + b" " * 10_000_000)) <= _SNIFF_BYTES


def test_entries_carry_every_link_of_their_content_canonical_and_once() -> None:
    doc = b"""<rss version="2.0"><channel><title>t</title><item><title>Issue 12</title>
    <link>https://news.example/issue-12</link><description>
    &lt;a href="https://arxiv.org/abs/2501.00001?utm_source=nl"&gt;one&lt;/a&gt;
    &lt;a href="/papers/two"&gt;two&lt;/a&gt; &lt;a href="https://arxiv.org/abs/2501.00001"&gt;again&lt;/a&gt;
    &lt;a href="javascript:alert(1)"&gt;no&lt;/a&gt; &lt;a href="https://news.example/issue-12"&gt;self&lt;/a&gt;
    </description></item></channel></rss>"""
    entry = parse_feed(doc, "https://news.example/feed").entries[0]
    assert entry.links == ("https://arxiv.org/abs/2501.00001", "https://news.example/papers/two")
