"""What hostile inputs cost: the timings the test suite deliberately does not assert.

The tests check that each hostile input is bounded by construction (what reaches the
expensive parser is capped); this script measures how long each case actually takes on
this machine, so a regression in the bound shows up as a number.

    python benchmarks/hostile_inputs.py [--repeat 5]

Prints one row per case: the median seconds over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from mlradar._content.html import html_to_text, sanitize_html
from mlradar._identity.arxiv import extract_arxiv_ids
from mlradar._sources.discovery import sniff
from mlradar._sources.feed import parse_feed
from mlradar.exceptions import ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "feeds"


def _parse(doc: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            return parse_feed(doc, "https://p.example/feed")
        except ParseError as exc:
            return exc

    return run


def cases() -> dict[str, Callable[[], object]]:
    entity = b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 5000 + b'">\n]>\n'
    item = b'<rss version="2.0"><channel><title>t</title><item><title>x</title><description>'
    return {
        "billion laughs": _parse((FIXTURES / "billion_laughs.xml").read_bytes()),
        "quadratic blowup (5000 B x 100k)": _parse(
            entity + item + b"&a;" * 100_000 + b"</description></item></channel></rss>"
        ),
        "< flood (5 MB)": _parse(
            b'<rss version="2.0"><channel><item><title>x</title>' + b"<" * 5_000_000
        ),
        "200k nested elements": _parse(
            item + b"<div>" * 200_000 + b"</description></item></channel></rss>"
        ),
        "200k items": _parse(
            b'<rss version="2.0"><channel>' + b"<item><title>x</title></item>" * 200_000
        ),
        "sanitize 200k nested divs": lambda: sanitize_html("<div>" * 200_000, "https://b.example/"),
        "sanitize 2000 relative links": lambda: sanitize_html(
            '<p><a href="/a">a</a> <img src="b.png"> text</p>' * 2000, "https://b.example/"
        ),
        "html_to_text 20k paragraphs": lambda: html_to_text(
            "<p>Some <a href='/x'>linked</a> text &amp; an <em>emphasis</em>.</p>\n" * 20_000
        ),
        "sniff a 10 MB prolog": lambda: sniff(b"<?xml " + b"a" * 10_000_000),
        "arXiv ids in 1.3 MB of text": lambda: extract_arxiv_ids(
            "lorem ipsum <a href='https://example.com/x'>dolor</a> 2023.1234 " * 20000
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, run in cases().items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"{name:40s} {statistics.median(times):8.3f} s")


if __name__ == "__main__":
    main()
