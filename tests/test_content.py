"""HTML sanitizing and flattening, against hostile input above all."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlradar._content.html import MAX_NESTING, _too_deep, html_to_text, sanitize_html

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


def test_moderate_nesting_is_kept() -> None:
    html = "<div>" * (MAX_NESTING - 10) + "deep" + "</div>" * (MAX_NESTING - 10)
    assert sanitize_html(html, None).startswith("<div><div>")


# -- html_to_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
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
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_of_a_long_document() -> None:
    html = "<p>Some <a href='/x'>linked</a> text &amp; an <em>emphasis</em>.</p>\n" * 20_000
    text = html_to_text(html)
    assert text.startswith("Some linked text & an emphasis.")
    assert text.count("emphasis.") == 20_000
