"""The lxml fast path gives exactly what feedparser gives, on every real feed and corpus.

Each file is parsed twice through :func:`parse_feed`: once as in production (the fast path
where the document is clean) and once with the fast path switched off (feedparser for
everything).  Where the fast path was taken the two ParsedFeeds must be equal, entry by
entry and field by field (key, title, link, dates, author, content, categories, ids,
content hash).  Every file where it was not taken is listed with the reason, in
``fastparse-report.txt`` in the test's tmp directory (and printed with ``-s``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mlradar._model import ParsedFeed
from mlradar._sources import feed as feed_module
from mlradar._sources.discovery import sniff
from mlradar._sources.fastparse import FastResult, parse_clean
from mlradar._sources.feed import parse_feed
from mlradar._sources.prepare import prepare_xml
from mlradar.exceptions import ParseError

_OFF = FastResult(None, "switched off")


def _outcome(data: bytes, url: str) -> ParsedFeed | str:
    try:
        return parse_feed(data, url)
    except ParseError as error:
        return f"ParseError: {error}"


def _fast_reason(data: bytes) -> str | None:
    """Why parse_feed would not take the fast path on ``data`` (None: it would)."""
    if sniff(data, None) not in ("feed", "xml"):
        return "not XML (JSON, HTML, text or binary): parsed without feedparser"
    prepared = prepare_xml(data, None)
    return parse_clean(prepared.data, prepared.charset).reason


def _compare(
    files: list[Path], root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Counter[str], list[str], list[str]]:
    """(counts, the fallback lines, the differences) over ``files``."""
    counts: Counter[str] = Counter()
    fallbacks: list[str] = []
    differences: list[str] = []
    for path in files:
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        url = f"http://127.0.0.1/{rel}"
        reason = _fast_reason(data)
        fast = _outcome(data, url)
        with monkeypatch.context() as m:
            m.setattr(feed_module, "parse_clean", lambda data, charset: _OFF)
            slow = _outcome(data, url)
        if reason is not None:
            counts["fallback"] += 1
            fallbacks.append(f"{rel}: {reason}")
            continue
        counts["fast"] += 1
        if isinstance(slow, ParsedFeed):
            counts["fast entries"] += len(slow.entries)
        if fast != slow:
            differences.append(_describe(rel, fast, slow))
    return counts, fallbacks, differences


def _describe(rel: str, fast: ParsedFeed | str, slow: ParsedFeed | str) -> str:
    if isinstance(fast, str) or isinstance(slow, str):
        return f"{rel}: fast {str(fast)[:200]!r} / feedparser {str(slow)[:200]!r}"
    lines = [f"{rel}:"]
    for name in ("title", "home_url", "warning"):
        if getattr(fast, name) != getattr(slow, name):
            lines.append(f"  feed {name}: {getattr(fast, name)!r} / {getattr(slow, name)!r}")
    if len(fast.entries) != len(slow.entries):
        lines.append(f"  {len(fast.entries)} entries / {len(slow.entries)}")
    for i, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=False)):
        for name in a.__slots__:
            if getattr(a, name) != getattr(b, name):
                x, y = str(getattr(a, name))[:150], str(getattr(b, name))[:150]
                lines.append(f"  entry {i} {name}: {x!r} / {y!r}")
    return "\n".join(lines)


def _report(tmp_path: Path, name: str, counts: Counter[str], fallbacks: list[str]) -> None:
    reasons = Counter(line.split(": ", 1)[1].split(":")[0][:60] for line in fallbacks)
    text = "\n".join(
        [
            f"{name}: {dict(counts)}",
            "fallback reasons: " + repr(dict(reasons.most_common())),
            *fallbacks,
        ]
    )
    (tmp_path / "fastparse-report.txt").write_text(text + "\n")
    print(f"\n{text}")


def test_real_feeds_fast_and_exact(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shared_data / "feeds"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    counts, fallbacks, differences = _compare(files, root, monkeypatch)
    _report(tmp_path, "real feeds", counts, fallbacks)
    assert not differences, "\n".join(differences)
    # Every real RSS/Atom feed is clean: the fast path must take them all (the rest are
    # the JSON Feed, sitemaps and the like).
    assert counts["fast entries"] >= 4000
    assert not [f for f in fallbacks if f.endswith(".xml: expat") or "fast parser failed" in f]


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["feedparser", "miniflux", "reader"])
def test_corpora_exact_where_fast(
    corpus: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shared_data / "feed-corpus" / corpus
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files
    counts, fallbacks, differences = _compare(files, root, monkeypatch)
    _report(tmp_path, corpus, counts, fallbacks)
    assert not differences, "\n".join(differences)
    assert counts["fast"] + counts["fallback"] == len(files)


_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>T &amp; &lt;b&gt;co&lt;/b&gt;</title><link>http://example.org/</link>
<image><title>ignored</title><url>http://example.org/i.png</url></image>
{items}
</channel></rss>"""
_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &lt;i&gt;feed&lt;/i&gt;</title>
<id>tag:example.org,2026:feed</id>
{items}
</feed>"""
#: Corners of feedparser's rules the real feeds may not all reach, each written small.
_CORNERS = {
    "guid before link, permalink": _RSS.format(
        items="<item><guid>http://example.org/a</guid><title>a</title>"
        "<link>http://example.org/a?x=1&amp;amp;y=2</link></item>"
    ),
    "guid only, permalink": _RSS.format(items="<item><guid>http://example.org/b</guid></item>"),
    "guid only, not a permalink": _RSS.format(
        items='<item><guid isPermaLink="false">b-1</guid><title>b</title></item>'
    ),
    "title that looks like HTML": _RSS.format(
        items="<item><title>&lt;b&gt;bold&lt;/b&gt; &amp;amp; x</title>"
        "<link>http://example.org/c</link></item>"
    ),
    "UTF-8 read as Latin-1, CP1252 controls": _RSS.format(
        items="<item><title>caf\u00c3\u00a9 \u0092quoted\u0093</title>"
        "<link>http://example.org/d</link><description>\u00c3\u00a9t\u00c3\u00a9</description>"
        "</item>"
    ),
    "categories merge into a term-less tag": _RSS.format(
        items='<item><title>e</title><category domain="d"></category><category>x</category>'
        "<category>x</category><dc:subject>y</dc:subject></item>"
    ),
    "content before description, an e-mail author": _RSS.format(
        items="<item><title>f</title><content:encoded><![CDATA[<p>full</p>]]></content:encoded>"
        "<description>short</description><author>ann@example.org (Ann Lee)</author>"
        "<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate><dc:date>2026-12-02T10:00:00Z</dc:date>"
        "</item>"
    ),
    "content only, dc:creator, odd date": _RSS.format(
        items="<item><title>g</title><content:encoded>&lt;p&gt;only&lt;/p&gt;</content:encoded>"
        "<dc:creator>Bo</dc:creator><pubDate>sometime in 2026</pubDate></item>"
    ),
    "two titles, the first empty": _RSS.format(
        items="<item><title> </title><title>second</title><title>third</title></item>"
    ),
    "atom: id before links, e-mail-only author, sticky xml:base": _ATOM.format(
        items="<entry><id>http://example.org/e/1</id><title>one</title>"
        '<link rel="self" href="/self/1"/><author><email>x@example.org</email></author>'
        '<content type="html" xml:base="http://example.org/base/">&lt;a href="p"&gt;p&lt;/a&gt;'
        "</content><summary>sum</summary><updated>2026-12-01T00:00:00Z</updated>"
        '<category term="t" label="L"/></entry>'
        '<entry><title>two</title><link href="rel/2"/><id>tag:x,2026:2</id>'
        "<author><name> Ann </name><uri>http://example.org/ann</uri></author>"
        "<content>plain &lt;text&gt;</content><published>2026-11-30T00:00:00+02:00</published>"
        "</entry>"
    ),
}
#: Documents the fast path must hand to feedparser (and what feedparser makes of them).
_UNCLEAN = {
    "ill-formed": b"<rss version='2.0'><channel><item><title>x</item></channel></rss>",
    "not UTF-8": b"<rss version='2.0'><channel><item><title>caf\xe9</title></item></channel></rss>",
    "Latin-1 declared": b'<?xml version="1.0" encoding="iso-8859-1"?>'
    b"<rss version='2.0'><channel><item><title>caf\xe9</title></item></channel></rss>",
    "deep nesting": b"<rss version='2.0'><channel><item><title>t</title>"
    + b"<x>" * 300
    + b"</x>" * 300
    + b"</item></channel></rss>",
    "xhtml content": _ATOM.format(
        items='<entry><title>x</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>x</p></div></content></entry>"
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(_CORNERS))
def test_corners_take_the_fast_path_and_match_feedparser(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _CORNERS[name].encode("utf-8")
    assert _fast_reason(data) is None
    fast = _outcome(data, "http://example.org/feed")
    monkeypatch.setattr(feed_module, "parse_clean", lambda data, charset: _OFF)
    slow = _outcome(data, "http://example.org/feed")
    assert isinstance(slow, ParsedFeed) and slow.entries
    assert fast == slow, _describe(name, fast, slow)


@pytest.mark.parametrize("name", sorted(_UNCLEAN))
def test_unclean_documents_fall_back_with_a_reason(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _UNCLEAN[name]
    reason = _fast_reason(data)
    assert reason and "\n" not in reason
    fast = _outcome(data, "http://example.org/feed")
    monkeypatch.setattr(feed_module, "parse_clean", lambda data, charset: _OFF)
    assert fast == _outcome(data, "http://example.org/feed")
