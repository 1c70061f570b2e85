"""Updating real feeds served on loopback: arrival, idempotence, conditional GET, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from mlradar import make_radar
from mlradar._radar import Radar
from mlradar.exceptions import ParseError, SourceExistsError, UnsafeURLError
from tests.feedserver import FeedServer, serving

BLOG_FEEDS = [
    "blogs/lilianweng/index.xml",
    "blogs/colah/rss.xml",
    "blogs/offconvex/_site/feed.xml",
    "blogs/yang-song/feed.xml",
    "blogs/jakevdp/feeds/all.atom.xml",
]


def real_feed_paths(feeds: Path) -> list[str]:
    labs = sorted(str(p.relative_to(feeds)) for p in (feeds / "labs").rglob("*.xml"))
    hf = sorted(str(p.relative_to(feeds)) for p in (feeds / "hf-daily-papers").iterdir())
    return BLOG_FEEDS + labs + hf


@dataclass
class Expected:
    entries: int
    dated: int
    with_text: int


def expected(path: Path) -> Expected:
    """What the feed itself holds, read independently of mlradar (feedparser, or json)."""
    if path.suffix == ".json":
        items = json.loads(path.read_bytes())["items"]
        dated = sum(1 for i in items if i.get("date_published") or i.get("date_modified"))
        texts = sum(
            1 for i in items if any(i.get(k) for k in ("content_html", "content_text", "summary"))
        )
        return Expected(len(items), dated, texts)
    raw = feedparser.parse(path.read_bytes())
    # An entry a feed repeats verbatim is one entry; same guid with other content is another.
    firsts: dict[tuple[str, ...], Any] = {}
    for e in raw.entries:
        body = e.get("summary", "") + "".join(c.get("value", "") for c in e.get("content", []))
        firsts.setdefault((e.get("id") or e.get("link"), e.get("title", ""), body), e)
    entries = list(firsts.values())

    def has_date(e: Any) -> bool:
        parsed = e.get("published_parsed") or e.get("updated_parsed")
        return bool(parsed) and parsed.tm_year > 1900  # Hugo writes 0001-01-01 for "no date"

    def has_text(e: Any) -> bool:
        return any(c.get("value", "").strip() for c in e.get("content", [])) or bool(
            e.get("summary", "").strip()
        )

    return Expected(len(entries), sum(map(has_date, entries)), sum(map(has_text, entries)))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as s:
        yield s


@pytest.fixture
def radar(db_url: str) -> Iterator[Radar]:
    r = make_radar(db_url, allow_private_networks=True, total_timeout=3.0, connect_timeout=2.0)
    yield r
    r.close()


def test_real_feeds_arrive_whole_and_a_second_update_stores_nothing(
    shared_data: Path, server: FeedServer, radar: Radar
) -> None:
    feeds = shared_data / "feeds"
    paths = real_feed_paths(feeds)
    for rel in paths:
        ctype = "application/json" if rel.endswith(".json") else "application/xml"
        radar.add_source(server.add("/" + rel, (feeds / rel).read_bytes(), content_type=ctype))

    first = radar.update()
    assert first.failed == 0, [s.error for s in first.sources if s.error]
    assert first.new > 500
    for source in radar.sources():
        items = radar.items(source=source.id, limit=10_000)
        assert items and len(items) == source.item_count, source.url
        rel = source.url.split("/", 3)[3]
        want = expected(feeds / rel)
        assert len(items) == want.entries, source.url
        for item in items:
            assert item.title, (source.url, item.key)
            assert item.url and item.url.startswith("http"), (source.url, item.key)
        # Every date and every text the feed has arrives; a feed's own gaps stay gaps.
        dated = sum(1 for i in items if i.published_at or i.updated_at)
        texts = sum(1 for i in items if i.summary_html or i.content_html)
        assert (dated, texts) == (want.dated, want.with_text), source.url

    second = radar.update(force=True)
    assert (second.new, second.updated, second.failed) == (0, 0, 0)
    assert all(s.not_modified for s in second.sources)
    for rel in paths:
        conditional = server.seen("/" + rel)[-1].headers
        assert conditional.get("If-None-Match", "").startswith('"')
        assert conditional.get("If-Modified-Since")

    # Without validators from the server, the same bytes are not even parsed again...
    server.routes = {
        p: r.__class__(r.body, r.content_type, conditional=False) for p, r in server.routes.items()
    }
    third = radar.update(force=True)
    assert (third.new, third.updated, third.failed) == (0, 0, 0)
    assert all(s.not_modified for s in third.sources)
    # ...and other bytes holding the same entries dedupe by the entries themselves.
    server.routes = {
        p: r.__class__(r.body + b"\n", r.content_type, conditional=False)
        for p, r in server.routes.items()
    }
    fourth = radar.update(force=True)
    assert (fourth.new, fourth.updated, fourth.failed) == (0, 0, 0)
    assert fourth.unchanged == first.new


def test_hf_daily_papers_link_items_to_arxiv_ids(
    shared_data: Path, server: FeedServer, radar: Radar
) -> None:
    path = shared_data / "feeds/hf-daily-papers/2025-05-29.xml"
    radar.add_source(server.add("/hf.xml", path.read_bytes()))
    radar.update()
    items = radar.items(limit=1000)
    assert items and all(i.arxiv_ids for i in items)
    assert radar.stats().items_linked_to_papers == len(items)


def test_home_page_autodiscovery(server: FeedServer, radar: Radar) -> None:
    feed = server.add("/blog/index.xml", RSS.format(items=ITEM.format(n=1, body="hello")))
    server.add(
        "/blog/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/blog/index.xml">'
        "</head><body>a blog</body></html>",
        content_type="text/html",
    )
    source = radar.add_source(server.url("/blog/"))
    assert source.url == feed
    assert source.title == "Test feed"
    with pytest.raises(SourceExistsError):
        radar.add_source(feed)


def test_a_page_without_a_feed_is_refused_with_a_reason(server: FeedServer, radar: Radar) -> None:
    server.add("/plain", "<html><body>nothing here</body></html>", content_type="text/html")
    with pytest.raises(ParseError, match="no feed"):
        radar.add_source(server.url("/plain"))
    assert radar.sources() == []


def test_private_addresses_are_refused_unless_allowed(db_url: str, server: FeedServer) -> None:
    server.add("/feed.xml", RSS.format(items=""))
    with make_radar(db_url) as strict, pytest.raises(UnsafeURLError):
        strict.add_source(server.url("/feed.xml"))


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test feed</title><link>http://example.org/</link>
{items}</channel></rss>"""
ITEM = """<item><title>Post {n}</title><link>http://example.org/{n}</link><guid>post-{n}</guid>
<pubDate>Tue, 01 Jul 2025 00:00:00 GMT</pubDate><description>{body}</description></item>"""


def test_bad_sources_are_recorded_and_the_run_goes_on(server: FeedServer, radar: Radar) -> None:
    good = radar.add_source(server.add("/good.xml", RSS.format(items=ITEM.format(n=1, body="ok"))))
    flaky = radar.add_source(
        server.add("/flaky.xml", RSS.format(items=ITEM.format(n=2, body="kept")))
    )
    assert radar.update().new == 2

    closed = radar.add_source("http://127.0.0.1:9/feed.xml", discover=False)
    missing = radar.add_source(server.url("/missing.xml"), discover=False)
    slow = radar.add_source(server.add("/slow.xml", RSS.format(items=""), delay=6), discover=False)
    html = radar.add_source(
        server.add("/page", "<html><body>hi</body></html>", content_type="text/html"),
        discover=False,
    )
    # Now the flaky feed breaks in each of the ways feeds break.
    cases = {
        "/flaky.xml": dict(status=500, body=b"oops"),
    }
    for path, kw in cases.items():
        server.add(path, **kw)  # type: ignore[arg-type]
    trunc = radar.add_source(
        server.add("/trunc.xml", RSS.format(items=ITEM.format(n=3, body="x"))[:-40]), discover=False
    )
    summary = radar.update(force=True)
    errors = {s.source_id: s.error for s in summary.sources}
    assert errors[good.id] is None
    assert "connect" in (errors[closed.id] or "").lower()
    assert "404" in (errors[missing.id] or "")
    assert "500" in (errors[flaky.id] or "")
    assert "timed out" in (errors[slow.id] or "").lower()
    assert "HTML" in (errors[html.id] or "")
    # A truncated feed is ill-formed, but what can be recovered is kept.
    assert errors[trunc.id] is None or "feed" in errors[trunc.id]
    for source_id, message in errors.items():
        if message:
            state = radar.source(source_id).state
            assert state.last_error == message and state.consecutive_errors == 1
            assert "\n" not in message
    # What the broken feed had stored before is still there.
    assert [i.title for i in radar.items(source=flaky.id)] == ["Post 2"]


def test_hostile_entries_store_no_script(server: FeedServer, radar: Radar) -> None:
    body = (
        "&lt;p onclick='alert(1)'&gt;hi&lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
        "&lt;a href='javascript:alert(3)'&gt;x&lt;/a&gt;&lt;img src=x onerror=alert(4)&gt;"
    )
    radar.add_source(server.add("/evil.xml", RSS.format(items=ITEM.format(n=1, body=body))))
    radar.update()
    (item,) = radar.items()
    html = (item.summary_html or "") + (item.content_html or "")
    for bad in ("<script", "onclick", "javascript:", "onerror", "alert(2)"):
        assert bad not in html
