"""Connector costs: fetching Hacker News items a few at a time, and building API entries.

1. ``hn:top`` fetched from a loopback server that answers each item after a delay (a
   stand-in for the network's round trip), 100 real items (``../shared/data/hackernews``),
   at the connector's bounded concurrency against one request at a time (the anchor).
2. Entries per second: the same real HN items built through the API path
   (:func:`mlradar._connectors.hackernews.item_entry`) and, as the anchor, rendered as an
   RSS 2.0 feed and parsed by the feed parser; Reddit's recorded listings
   (``../shared/data/reddit``) through :func:`mlradar._connectors.reddit.parse_listing`.

Run: ``PYTHONPATH=src python benchmarks/connectors.py [--repeat 5] [--delay 0.03]``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.feedserver import serving  # noqa: E402

from mlradar._config import Settings  # noqa: E402
from mlradar._connectors import InlineContext, SourceRef  # noqa: E402
from mlradar._connectors.hackernews import HackerNewsConnector, item_entry  # noqa: E402
from mlradar._connectors.reddit import parse_listing  # noqa: E402
from mlradar._fetch import Fetcher  # noqa: E402
from mlradar._sources.feed import parse_feed  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def hn_items() -> list[dict[str, Any]]:
    path = DATA / "hackernews" / "firebase-items" / "topstories.json"
    return [i for i in json.loads(path.read_text()) if i]


def as_rss(items: list[dict[str, Any]]) -> bytes:
    """The items as an RSS 2.0 feed, the way hnrss.org writes one."""
    parts = ['<?xml version="1.0"?><rss version="2.0"><channel><title>HN</title>']
    for i in items:
        link = i.get("url") or f"https://news.ycombinator.com/item?id={i['id']}"
        text = html.escape(i.get("text") or "")
        parts.append(
            f"<item><title>{html.escape(i.get('title', ''))}</title>"
            f"<link>{html.escape(link)}</link><guid>hn:{i['id']}</guid>"
            f"<description>{text}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


async def fetch_once(base: str, concurrency: int) -> float:
    settings = Settings(allow_private_networks=True)
    hn = HackerNewsConnector(settings, api_url=base, concurrency=concurrency)
    ref = SourceRef(1, "hackernews", "hn:top", None, {"mode": "list", "list": "top"}, {})
    async with Fetcher(settings, policies=hn.policies(settings)) as fetcher:
        started = time.perf_counter()
        result = await hn.fetch(ref, InlineContext(fetcher, settings))
        elapsed = time.perf_counter() - started
    if result.entries is None or len(result.entries) < 90:
        raise SystemExit(f"the fetch brought too little: {result.warning}")
    return elapsed


def per_second(fn: Any, arg: Any, count: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - started)
    return count / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.03, help="seconds per item response")
    args = parser.parse_args()
    items = hn_items()[:100]

    with serving() as server:
        ids = json.dumps([i["id"] for i in items])
        server.add("/v0/topstories.json", ids, content_type="application/json")
        for item in items:
            server.add(
                f"/v0/item/{item['id']}.json",
                json.dumps(item),
                content_type="application/json",
                delay=args.delay,
            )
        rows = []
        for concurrency in (1, 8):
            runs = [asyncio.run(fetch_once(server.base, concurrency)) for _ in range(args.repeat)]
            rows.append((concurrency, statistics.median(runs)))
    anchor = rows[0][1]
    print(f"hn:top, {len(items)} items, {args.delay * 1000:.0f} ms per item response")
    for concurrency, median in rows:
        print(f"  concurrency {concurrency}: median {median:.2f} s  ({anchor / median:.1f}x)")

    api = per_second(lambda xs: [item_entry(x) for x in xs], items, len(items), args.repeat)
    feed = as_rss(items)
    rss = per_second(
        lambda b: parse_feed(b, "https://hnrss.org/frontpage"), feed, len(items), args.repeat
    )
    print("entries per second (median)")
    print(f"  HN items via the API path: {api:,.0f}/s ({api / rss:.2f}x the feed parser)")
    print(f"  the same items as RSS, via the feed parser (anchor): {rss:,.0f}/s")

    cassettes = DATA / "reddit" / "praw-cassettes" / "tests" / "integration" / "cassettes"
    bodies = []
    for name in (
        "TestFront.test_hot",
        "TestSubredditListings.test_hot",
        "TestDomainListing.test_hot",
    ):
        recorded = json.loads((cassettes / f"{name}.json").read_text())
        get = next(i for i in recorded["interactions"] if i["request"]["method"] == "GET")
        bodies.append(str(get["response"]["body"]["string"]).encode())
    posts = sum(len(parse_listing(b, "https://www.reddit.com/")) for b in bodies)
    reddit = per_second(lambda bs: [parse_listing(b, "u") for b in bs], bodies, posts, args.repeat)
    print(f"  Reddit posts via parse_listing ({posts} posts, 3 listings): {reddit:,.0f}/s")


if __name__ == "__main__":
    main()
