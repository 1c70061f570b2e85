"""Digests and Atom feeds out on the real corpus: what they cost over the list they show.

Loads the 74,728 real papers of ../shared/data/arxiv/papers.jsonl.gz and the real feeds
of ../shared/data/feeds (served on loopback), tags a few papers of the newest week, then
times (median of --repeat runs, warm: the ranking model is trained by a first call):

* ``digest()`` against its anchor, ``recommend()`` over the same window (the digest's
  costliest part), and the two renderings;
* each Atom view against its anchor, the list call it is made from (``items()``,
  ``search()``, ``recommend()``, ``library()``...);
* an idle worker tick (nothing due), against a bare ``core.sources()``.

    python benchmarks/digests_feeds.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def add_hn_stories(radar: Any, since: Any) -> int:
    """The real Hacker News stories of the shared data (Nov 2019), dated into the window
    (their points and comments kept): the "most discussed" section needs discussion."""
    from mlradar._identity import content_hash
    from mlradar._model import DiscussionSignal, FetchState, ParsedEntry

    stories: dict[int, dict[str, Any]] = {}
    for f in sorted((DATA / "hackernews" / "firebase-items").glob("*.json")):
        for s in json.loads(f.read_text()):
            if isinstance(s, dict) and s.get("type") == "story" and s.get("title"):
                stories[int(s["id"])] = s
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    entries = [
        ParsedEntry(
            key=f"id:hn-{sid}",
            url=s.get("url") or f"https://news.ycombinator.com/item?id={sid}",
            link=None,
            title=s["title"],
            author=s.get("by"),
            summary_html=None,
            content_html=None,
            text=s["title"],
            categories=(),
            published_at=start + timedelta(minutes=7 * n),
            updated_at=None,
            arxiv_ids=(),
            dois=(),
            content_hash=content_hash([str(sid)]),
            discussion=DiscussionSignal(
                points=s.get("score"),
                comments=s.get("descendants"),
                comments_url=f"https://news.ycombinator.com/item?id={sid}",
            ),
        )
        for n, (sid, s) in enumerate(sorted(stories.items()))
    ]
    source = radar._storage.add_source(
        radar._user_id, "https://news.ycombinator.com/", "hackernews", name="Hacker News"
    )
    now = datetime.now(UTC)
    # Never due: nothing here fetches off loopback.
    later = now + timedelta(days=3650)
    radar._storage.store_entries(source.id, entries, FetchState(now, 200, None, later))
    radar.sync_rank_index()
    return len(entries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--papers", type=Path, default=DATA / "arxiv" / "papers.jsonl.gz")
    args = ap.parse_args()

    from benchmarks.update_feeds import feed_files
    from tests.feedserver import FeedServer

    from mlradar import make_radar
    from mlradar._worker import Worker
    from mlradar.types import FeedView

    server = FeedServer()
    files = feed_files()
    urls = [server.add(f"/{i}/{f.name}", f.read_bytes()) for i, f in enumerate(files)]
    server.start()
    tmp = tempfile.mkdtemp(prefix="mlradar-bench-digests-")
    db = os.path.join(tmp, "radar.sqlite")
    setup: dict[str, float] = {}
    radar = make_radar(
        db,
        allow_private_networks=True,
        total_timeout=60,
        embedding_model="none-installed-model-xyz",  # lexical, as without the extra
    )
    t0 = time.perf_counter()
    summary = radar.import_arxiv_snapshot(args.papers)
    setup["import_s"] = time.perf_counter() - t0
    for u in urls:
        radar._storage.add_source(radar._user_id, u, "feed")
    t0 = time.perf_counter()
    update = radar.update()
    setup["update_s"] = time.perf_counter() - t0
    # The papers' newest week (the feeds' items are newer: today's).
    from mlradar._rank.corpus import day_to_date

    newest_day = radar._indexes()["papers"].newest_day()
    assert newest_day is not None
    until = day_to_date(newest_day)
    since = until - timedelta(days=6)
    setup["hn_stories"] = add_hn_stories(radar, since)
    hits = radar.search('"diffusion"', limit=200)
    tagged = [h.ref for h in hits if h.kind == "paper"][:12]
    radar.tag("diffusion", tagged)
    radar.recommend(since=since, until=until)  # trains and caches the model
    radar.recommend(tag="diffusion", since=since, until=until)
    type(radar)._today = staticmethod(lambda: until)  # type: ignore[method-assign]

    r = args.repeat
    rows: list[tuple[str, float, str, float]] = []
    digest = radar.digest(since=since, until=until)
    rows.append(
        (
            "digest() (4 sections)",
            median_s(lambda: radar.digest(since=since, until=until), r),
            "recommend(limit=10), same window",
            median_s(lambda: radar.recommend(since=since, until=until, limit=10), r),
        )
    )
    md = median_s(lambda: radar.render_digest(digest, "md"), r)
    html = median_s(lambda: radar.render_digest(digest, "html"), r)
    source = radar.sources()[0].id
    views: list[tuple[FeedView, str, Callable[[], Any]]] = [
        (FeedView("new"), "items(limit=50)", lambda: radar.items(limit=50)),
        (
            FeedView("source", str(source)),
            "items(source, limit=50)",
            lambda: radar.items(source=source, limit=50),
        ),
        (
            FeedView("search", "diffusion"),
            "search(limit=50)",
            lambda: radar.search("diffusion", limit=50),
        ),
        (FeedView("tag", "diffusion"), "library(tag)", lambda: radar.library("diffusion")),
        (
            FeedView("for-you"),
            "recommend(limit=50), last week",
            lambda: radar.recommend(since=until - timedelta(days=6), until=until, limit=50),
        ),
        (
            FeedView("discussed"),
            "discussed_items(limit=50), last week",
            lambda: radar._storage.discussed_items(
                radar._user_id, datetime.now(UTC) - timedelta(days=7), limit=50
            ),
        ),
        (FeedView("digest"), "digests(limit=1)", lambda: radar.digests(limit=1)),
    ]
    radar.save_digest(digest)
    sizes: dict[str, int] = {}
    for view, anchor_name, anchor in views:
        data = radar.atom_feed(view)
        sizes[str(view)] = data.count(b"<entry>")
        rows.append(
            (
                f"atom_feed({view})",
                median_s(lambda v=view: radar.atom_feed(v), r),  # type: ignore[misc]
                anchor_name,
                median_s(anchor, r),
            )
        )
    worker = Worker(radar.core)
    worker.tick()  # the due sources of a first tick were just updated
    rows.append(
        (
            "worker tick, nothing due",
            median_s(worker.tick, r),
            "core.sources()",
            median_s(radar.core.sources, r),
        )
    )
    out = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "load_average": os.getloadavg(),
        "papers": summary.papers,
        "feeds": len(urls),
        "items": radar.stats().items,
        "update_failed": update.failed,
        "window": f"{since}/{until}",
        "tagged": len(tagged),
        "setup": setup,
        "digest_entries": {s.kind: len(s.entries) for s in digest.sections},
        "render_md_s": md,
        "render_html_s": html,
        "feed_entries": sizes,
        "rows": [
            {"what": w, "median_s": m, "anchor": a, "anchor_s": am, "ratio": m / am if am else None}
            for w, m, a, am in rows
        ],
    }
    print(json.dumps(out, indent=2))
    server.stop()


if __name__ == "__main__":
    main()
