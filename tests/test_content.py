"""HTML sanitizing and flattening, against hostile input above all."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlradar._content.html import (
    MAX_NESTING,
    _too_deep,
    html_to_text,
    sanitize_html,
    sanitized_text,
)
from mlradar._sources.feed import MAX_TEXT_CHARS, parse_feed
from mlradar.exceptions import RadarError

BASE = "https://blog.example/posts/1/"

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>z</text></a></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    '<form><math><mtext></form><form><mglyph><style></math><img src onerror="alert(1)">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">s</div>',
    '<iframe src="https://evil.example/"></iframe>',
    '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    '<body onload="alert(1)">',
    '<p onclick="alert(1)" onmouseover="alert(2)">p</p>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<input onfocus="alert(1)" autofocus>',
    '<details open ontoggle="alert(1)">',
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<a href="https://ok.example/" target="_blank" rel="opener">x</a>',
    "<template><script>alert(1)</script></template>",
    '<img src="x" srcset="javascript:alert(1) 1x">',
]
_DANGEROUS = re.compile(
    r"<script|<style|<iframe|<object|<embed|<svg|<math|<meta|<base|<link|<form|<input"
    r"|javascript:|vbscript:|data:|\son\w+\s*=|style=|srcset=|target=",
    re.IGNORECASE,
)


@pytest.mark.parametrize("html", HOSTILE)
def test_sanitize_html_removes_everything_dangerous(html: str) -> None:
    cleaned = sanitize_html(html, BASE)
    assert not _DANGEROUS.search(cleaned), cleaned
    # Cleaning is stable: the output is already clean.
    assert sanitize_html(cleaned, BASE) == cleaned


def test_sanitize_html_keeps_the_content_a_research_blog_needs() -> None:
    html = (
        "<h2>Results</h2><p>Text <b>bold</b> <em>em</em> <code>x = 1 &lt; 2</code></p>"
        "<pre><code>def f():\n    return 1</code></pre>"
        '<figure><img src="/img/plot.png" alt="a plot" width="300">'
        "<figcaption>Figure 1</figcaption></figure>"
        "<table><thead><tr><th>model</th></tr></thead><tbody><tr><td>0.9</td></tr></tbody></table>"
        "<ul><li>one</li></ul><ol start='3'><li>three</li></ol><blockquote>quoted</blockquote>"
        '<a href="https://arxiv.org/abs/2503.11677" title="paper">paper</a>'
        '<a href="mailto:me@example.com">mail</a>'
    )
    cleaned = sanitize_html(html, BASE)
    for kept in [
        "<h2>Results</h2>",
        "<b>bold</b>",
        "<em>em</em>",
        "<code>x = 1 &lt; 2</code>",
        "<pre><code>def f():\n    return 1</code></pre>",
        '<img src="https://blog.example/img/plot.png" alt="a plot" width="300">',
        "<figcaption>Figure 1</figcaption>",
        "<th>model</th>",
        "<td>0.9</td>",
        "<li>one</li>",
        '<ol start="3">',
        "<blockquote>quoted</blockquote>",
        'href="https://arxiv.org/abs/2503.11677"',
        'title="paper"',
        'href="mailto:me@example.com"',
    ]:
        assert kept in cleaned, kept
    assert cleaned.count('rel="noopener noreferrer nofollow"') == 2


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/about", "https://blog.example/about"),
        ("next/", "https://blog.example/posts/1/next/"),
        ("../2/", "https://blog.example/posts/2/"),
        ("?page=2", "https://blog.example/posts/1/?page=2"),
        ("//cdn.example/x.png", "https://cdn.example/x.png"),
        ("https://other.example/a", "https://other.example/a"),
    ],
)
def test_relative_urls_resolve_against_base(href: str, expected: str) -> None:
    assert f'href="{expected}"' in sanitize_html(f'<a href="{href}">x</a>', BASE)


def test_relative_urls_stay_relative_without_base() -> None:
    assert 'href="/about"' in sanitize_html('<a href="/about">x</a>', None)


def test_each_thread_resolves_against_its_own_base() -> None:
    def clean(i: int) -> str:
        return sanitize_html('<a href="x">x</a>' * 50, f"https://site{i}.example/")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(clean, range(64)))
    for i, out in enumerate(results):
        assert out.count(f"https://site{i}.example/x") == 50


def test_sanitize_html_resolves_every_url_of_a_long_document() -> None:
    # One shared cleaner with a URL callback (its cost: benchmarks/hostile_inputs.py).
    html = '<p><a href="/a">a</a> <img src="b.png"> text</p>' * 2000
    cleaned = sanitize_html(html, BASE)
    assert cleaned.count('href="https://blog.example/a"') == 2000
    assert cleaned.count('src="https://blog.example/posts/1/b.png"') == 2000
    assert sanitize_html(html, None).count('href="/a"') == 2000


@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 200_000,
        "".join(f'<b title="{i}">' for i in range(100_000)),
        "<div>" * 50_000 + "</div>" * 50_000,
        '<b title="1"></i>' * 100_000,
        "<blockquote>" * 100_000,
    ],
    ids=["divs", "formatting", "balanced", "mismatched", "blockquotes"],
)
def test_degenerate_nesting_never_reaches_the_tree_builder(html: str) -> None:
    # html5ever is quadratic in nesting depth: without the guard these take minutes.  The
    # guard sees them, so the tree builder never does (their cost: benchmarks/hostile_inputs.py).
    assert _too_deep(html)
    cleaned = sanitize_html(html, BASE)
    text = html_to_text(html)
    assert "<" not in cleaned
    assert "<" not in text


@pytest.mark.parametrize(
    ("html", "deep"),
    [
        ("<div>" * (MAX_NESTING + 1), True),
        ("<div>" * MAX_NESTING + "<br>" * 50, False),
        ("<p>x</p>" * 1000, False),
        ("</i>" * 1000 + "<div>" * (MAX_NESTING + 1), True),
        ("<b></b>" * MAX_NESTING + "<div>" * (MAX_NESTING + 1), True),
    ],
)
def test_too_deep_at_the_bound(html: str, deep: bool) -> None:
    # The quick exit counts openings ("<" not followed by "/"); the walk decides the rest.
    assert _too_deep(html) is deep


def test_moderate_nesting_is_kept() -> None:
    html = "<div>" * (MAX_NESTING - 10) + "deep" + "</div>" * (MAX_NESTING - 10)
    assert sanitize_html(html, None).startswith("<div><div>")


# -- html_to_text ----------------------------------------------------------------------------


_HTML_TO_TEXT = [
    ("<p>one</p><p>two</p>", "one two"),
    ("<li>a</li><li>b</li>", "a b"),
    ("line<br>break<BR/>again", "line break again"),
    ("<P>upper</P><DIV>case</DIV>", "upper case"),
    ("bo<b>ld</b> stays one word", "bold stays one word"),
    ("a &amp; b &lt;tag&gt; &eacute; &#233; &#x263a;", "a & b <tag> é é ☺"),
    ("<script>var x = 1;</script>visible<style>p{}</style>", "visible"),
    ("<svg><text>drawing</text></svg><math><mi>x</mi></math>after", "after"),
    ("  lots \n\n of\t  space  ", "lots of space"),
    ("plain text, no markup", "plain text, no markup"),
    ("", ""),
    ("<!-- a comment --> text", "text"),
    ("<td>1</td><td>2</td>", "1 2"),
    ("a < b and c > d", "a < b and c > d"),
]


@pytest.mark.parametrize(("html", "text"), _HTML_TO_TEXT)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_of_a_long_document() -> None:
    html = "<p>Some <a href='/x'>linked</a> text &amp; an <em>emphasis</em>.</p>\n" * 20_000
    text = html_to_text(html)
    assert text.startswith("Some linked text & an emphasis.")
    assert text.count("emphasis.") == 20_000


# -- sanitized_text: html_to_text of the sanitizer's output, without a second parse ----------

_TRICKY = [
    '<p title="a > b < c">x</p><a href="https://e.example/?a=1&amp;b=2" title=\'q"t\'>y</a>',
    "<table>stray<tr><td>cell</td></tr></table>after",
    "<b><i>mis</b>nested</i> tags",
    "<p>unclosed <em>everything",
    "a &nbsp; b&nbsp;c &amp;amp; &#0; &#xD800;",
    "<pre>  keep\n  lines  </pre><code>x&lt;y</code>",
    '<img alt="a>b" src="https://e.example/i.png">text<br>more',
    "<ul><li>one<li>two</ul><ol><li>three</ol>",
    "<h1>Title</h1><blockquote><p>quote</p></blockquote><figcaption>cap</figcaption>",
]


@pytest.mark.parametrize("html", [h for h, _ in _HTML_TO_TEXT] + _TRICKY + HOSTILE)
def test_sanitized_text_is_html_to_text_of_sanitized_html(html: str) -> None:
    clean = sanitize_html(html, "https://base.example/post/")
    assert sanitized_text(clean) == html_to_text(clean)


_HTMLISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<b>",
                "</b>",
                "<a href='/x?a=1&b=2' title='<>\"'>",
                "</a>",
                "<br>",
                "<table>",
                "<tr>",
                "<td>",
                "</table>",
                "<img alt='x>y'>",
                "<script>",
                "</script>",
                "<!--",
                "-->",
                "&amp;",
                "&lt;",
                "&nbsp;",
                "&#x263a;",
                "<",
                ">",
                '"',
                "'",
                " ",
                "\n",
                "<li>",
                "<pre>",
                "</pre>",
                "<svg>",
                "<style>",
                '<div title="a\'b">',
            ]
        ),
        st.text(max_size=8),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_HTMLISH)
def test_sanitized_text_equals_html_to_text_on_any_sanitized_html(html: str) -> None:
    clean = sanitize_html(html, None)
    assert sanitized_text(clean) == html_to_text(clean)


def test_sanitized_text_of_degenerate_nesting_is_flat() -> None:
    deep = "<div>" * (MAX_NESTING + 5) + "x" + "</div>" * (MAX_NESTING + 5)
    assert sanitized_text(deep) == html_to_text(deep) == "x"


def _stored_texts_differ(files: list[Path]) -> tuple[int, list[str]]:
    """(entries compared, those whose stored text is not html_to_text of their body)."""
    compared, differ = 0, []
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), f"http://127.0.0.1/{path.name}")
        except RadarError:
            continue
        for i, e in enumerate(feed.entries):
            body = e.content_html or e.summary_html or ""
            compared += 1
            if e.text != html_to_text(body)[:MAX_TEXT_CHARS]:
                differ.append(f"{path} entry {i}: {e.text[:80]!r}")
    return compared, differ


def test_stored_text_of_real_feeds_is_unchanged(shared_data: Path) -> None:
    files = sorted(p for p in (shared_data / "feeds").rglob("*") if p.is_file())
    compared, differ = _stored_texts_differ(files)
    assert compared >= 4000
    assert not differ, "\n".join(differ[:20])


@pytest.mark.slow
def test_stored_text_of_the_feed_corpora_is_unchanged(shared_data: Path) -> None:
    files = sorted(p for p in (shared_data / "feed-corpus").rglob("*") if p.is_file())
    compared, differ = _stored_texts_differ(files)
    assert compared >= 1000
    assert not differ, "\n".join(differ[:20])
