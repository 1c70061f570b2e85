"""Benchmark: joining new items to stories at 75k papers and 100k items; the Hugging Face
join rate; near-duplicate precision and recall on real feeds.

    python benchmarks/stories_join.py [--work DIR] [--runs 5]

The database (SQLite, made in ``--work`` or a temporary directory): the real corpus
(``../shared/data/arxiv/papers.jsonl.gz``, 74,728 papers) imported through the product, and
100,000 items written through the product's item write (``Storage.store_entries``, which
joins them to stories as they arrive, in batches of 1,000): one arXiv-listing item per
paper (its abs link and id), plus Hacker News-like threads (half link a paper's abs or PDF
page, half a blog post, with points and comments) and blog posts (titles and abstracts of
real papers, some naming their paper), spread over 60 sources.

Then ``--runs`` times, a batch of 1,000 new items (a realistic mix: threads about stored
papers and posts, re-posts of stored posts under near-identical titles in other feeds,
posts naming a paper, and fresh posts) is written twice, into two sources: once with the
story join (the product) and once without it (the anchor: the same write, no stories).
The join's cost is the difference of the medians; the decision alone (the pure join and
its lookups) is timed too.  Goal: at most 1 s per 1,000 items.

Then the 242 items of the ten real Hugging Face Daily Papers snapshots are written (parsed
by the product's feed parser) and the join rate is the share of those whose paper is in
the corpus that joined that paper's story (the one holding its listing item); and the
near-duplicate check is evaluated on the real lab and blog feeds (tests/stories_support.py).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from mlradar._identity import content_hash  # noqa: E402
from mlradar._model import DiscussionSignal, FetchState, ParsedEntry  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(
    key: str,
    title: str,
    url: str,
    text: str,
    *,
    arxiv: tuple[str, ...] = (),
    talk: tuple[int, int] | None = None,
    links: tuple[str, ...] = (),
    day: int = 0,
) -> ParsedEntry:
    return ParsedEntry(
        key=key,
        url=url,
        link=url,
        title=title,
        author=None,
        summary_html=None,
        content_html=None,
        text=text,
        categories=(),
        published_at=T0 + timedelta(minutes=day),
        updated_at=None,
        arxiv_ids=arxiv,
        dois=(),
        content_hash=content_hash([key, title, url]),
        links=links,
        discussion=None if talk is None else DiscussionSignal(*talk),
    )


def _papers() -> list[dict[str, Any]]:
    with gzip.open(DATA / "arxiv" / "papers.jsonl.gz", "rb") as f:
        return [orjson.loads(line) for line in f]


def _fetch(n: int) -> FetchState:
    now = T0 + timedelta(hours=n)
    return FetchState(now, 200, None, now)


def build(storage: Any, user_id: int, papers: list[dict[str, Any]], total: int) -> dict[str, Any]:
    rng = random.Random(7)
    kinds = ["arxiv"] * 10 + ["hackernews"] * 10 + ["reddit"] * 10 + ["feed"] * 30
    sources = [
        storage.add_source(user_id, f"https://src{n}.example/feed", kind, title=f"src {n}").id
        for n, kind in enumerate(kinds)
    ]
    arxiv_src, talk_src, blog_src = sources[:10], sources[10:30], sources[30:]
    blogs: list[tuple[str, str, str]] = []  # (url, title, text) of stored posts
    batches: dict[int, list[ParsedEntry]] = {}

    def add(source: int, e: ParsedEntry) -> None:
        batches.setdefault(source, []).append(e)

    for n, p in enumerate(papers):
        add(
            arxiv_src[n % 10],
            _entry(
                f"a{n}",
                " ".join(p["title"].split()),
                f"https://arxiv.org/abs/{p['id']}",
                p["abstract"][:1000],
                arxiv=(p["id"],),
                day=n,
            ),
        )
    rest = total - len(papers)
    for n in range(rest // 2):
        p = papers[rng.randrange(len(papers))]
        url = f"https://blog{n % 400}.example/{n}"
        title = "Notes on " + " ".join(p["title"].split())
        blogs.append((url, title, p["abstract"][:1000]))
        named = (p["id"],) if n % 4 == 0 else ()
        add(blog_src[n % 30], _entry(f"b{n}", title, url, p["abstract"][:1000], arxiv=named))
    for n in range(rest - rest // 2):
        if n % 2:
            p = papers[rng.randrange(len(papers))]
            url = f"https://arxiv.org/pdf/{p['id']}v1"
            title = " ".join(p["title"].split())
        else:
            url, title, _ = blogs[rng.randrange(len(blogs))]
        add(
            talk_src[n % 20],
            _entry(f"h{n}", title, url, "", talk=(rng.randrange(500), rng.randrange(200))),
        )
    started = time.perf_counter()
    written = 0
    step = 0
    for source, entries in batches.items():
        for i in range(0, len(entries), 1000):
            storage.store_entries(source, entries[i : i + 1000], _fetch(step))
            written += len(entries[i : i + 1000])
            step += 1
    return {
        "items": written,
        "seconds": time.perf_counter() - started,
        "blogs": blogs,
        "sources": sources,
    }


def new_batch(
    papers: list[dict[str, Any]], blogs: list[tuple[str, str, str]], run: int, tag: str
) -> list[ParsedEntry]:
    rng = random.Random(1000 + run)
    out = []
    for n in range(1000):
        key = f"{tag}{run}-{n}"
        kind = n % 10
        if kind < 3:  # a thread about a stored paper
            p = papers[rng.randrange(len(papers))]
            out.append(
                _entry(
                    key,
                    " ".join(p["title"].split()),
                    f"https://arxiv.org/abs/{p['id']}",
                    "",
                    talk=(rng.randrange(300), rng.randrange(90)),
                )
            )
        elif kind < 5:  # a re-post of a stored post, under a near-identical title
            _url, title, text = blogs[rng.randrange(len(blogs))]
            out.append(_entry(key, title + "!", f"https://mirror.example/{key}", text))
        elif kind < 7:  # a post naming a paper
            p = papers[rng.randrange(len(papers))]
            out.append(
                _entry(
                    key,
                    f"What {' '.join(p['title'].split()[:6])} means",
                    f"https://new.example/{key}",
                    p["abstract"][:1000],
                    arxiv=(p["id"],),
                )
            )
        else:  # fresh
            p = papers[rng.randrange(len(papers))]
            out.append(
                _entry(
                    key,
                    f"Fresh take {key}: " + " ".join(p["title"].split()[:5]),
                    f"https://fresh.example/{key}",
                    p["abstract"][200:900],
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()

    from tests.stories_support import evaluate, feed_items, labels

    from mlradar import make_radar
    from mlradar._radar._stories import decide_stories

    work = args.work or Path(tempfile.mkdtemp(prefix="stories-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "radar.sqlite"
    if db.exists():
        db.unlink()
    now = datetime.now(UTC)
    print(f"# stories_join: {platform.node()}, {os.cpu_count()} cores, {now:%F %T} UTC")
    print(f"load average at start: {os.getloadavg()}")
    radar = make_radar(f"sqlite:///{db}")
    storage = radar._storage
    t = time.perf_counter()
    radar.import_arxiv_snapshot(DATA / "arxiv" / "papers.jsonl.gz", index=False)
    print(f"papers imported: {time.perf_counter() - t:.1f} s")
    papers = _papers()[: args.items]
    built = build(storage, radar._user_id, papers, args.items)
    print(
        f"items written with their stories: {built['items']:,} in {built['seconds']:.1f} s "
        f"({built['items'] / built['seconds']:.0f} items/s)"
    )
    with storage.engine.connect() as conn:
        from sqlalchemy import text

        stories = conn.execute(text("SELECT count(*) FROM stories")).scalar_one()
        keys = conn.execute(text("SELECT count(*) FROM story_keys")).scalar_one()
    print(f"stories: {stories:,}, story keys: {keys:,}")

    # This process holds the whole corpus (75k records) for making batches, which an
    # update does not: frozen, so that cyclic garbage collection over it is not billed to
    # whichever write happens to allocate (it was, by up to a third, in the first runs).
    gc.collect()
    gc.freeze()
    join_src, anchor_src = built["sources"][40], built["sources"][41]
    decided: list[float] = []

    def timed(inputs: Any, lookup: Any) -> Any:
        t = time.perf_counter()
        plan = decide_stories(inputs, lookup)
        decided.append(time.perf_counter() - t)
        return plan

    with_join, without, cpu_join, cpu_without = [], [], [], []
    for run in range(args.runs):
        batch = new_batch(papers, built["blogs"], run, "j")
        storage.story_decider = timed
        t, c = time.perf_counter(), time.process_time()
        storage.store_entries(join_src, batch, _fetch(10_000 + run))
        with_join.append(time.perf_counter() - t)
        cpu_join.append(time.process_time() - c)
        storage.story_decider = None
        anchor = new_batch(papers, built["blogs"], run, "n")
        t, c = time.perf_counter(), time.process_time()
        storage.store_entries(anchor_src, anchor, _fetch(20_000 + run))
        without.append(time.perf_counter() - t)
        cpu_without.append(time.process_time() - c)
    storage.story_decider = decide_stories
    mj, ma, md = (statistics.median(x) for x in (with_join, without, decided))
    cj, ca = statistics.median(cpu_join), statistics.median(cpu_without)
    print()
    print(f"| per 1,000 new items (median of {args.runs}) | wall s | CPU s (this process) |")
    print("| --- | --- | --- |")
    print(f"| item write with the story join (product) | {mj:.3f} | {cj:.3f} |")
    print(f"| item write without it (anchor) | {ma:.3f} | {ca:.3f} |")
    print(f"| **joining** (difference) | **{mj - ma:.3f}** | **{cj - ca:.3f}** |")
    print(f"| the decision alone (pure join + its lookups) | {md:.3f} | |")
    print(f"| ratio with / without | {mj / ma:.2f} | {cj / ca:.2f} |")
    print(f"runs with join: {[round(x, 3) for x in with_join]}")
    print(f"runs without:   {[round(x, 3) for x in without]}")

    # The Hugging Face snapshots, parsed by the product's feed parser.
    from mlradar._sources.feed import parse_feed

    corpus = {p["id"] for p in papers}
    hf = storage.add_source(radar._user_id, "https://hf.example/papers", "feed", title="HF").id
    entries: list[ParsedEntry] = []
    for path in sorted((DATA / "feeds" / "hf-daily-papers").glob("*.xml")):
        entries += parse_feed(path.read_bytes(), "https://hf.example/" + path.name).entries
    storage.store_entries(hf, entries, _fetch(30_000))
    with storage.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i.url, st.arxiv_id, (SELECT count(*) FROM story_items x JOIN items y "
                "ON y.id = x.item_id WHERE x.story_id = st.id AND y.url = "
                "'https://arxiv.org/abs/' || st.arxiv_id) AS listed FROM items i "
                "JOIN story_items si ON si.item_id = i.id JOIN stories st ON st.id = si.story_id "
                "WHERE i.source_id = :hf"
            ),
            {"hf": hf},
        ).all()
        shared = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT arxiv_id FROM stories WHERE arxiv_id IS NOT NULL "
                "GROUP BY arxiv_id HAVING count(*) > 1)"
            )
        ).scalar_one()
    in_corpus = [r for r in rows if r.url.rsplit("/", 1)[-1] in corpus]
    joined = [r for r in in_corpus if r.arxiv_id == r.url.rsplit("/", 1)[-1] and r.listed]
    print()
    print(
        f"Hugging Face: {len(rows)} items, {len(in_corpus)} of papers in the corpus, "
        f"{len(joined)} joined their paper's story: join rate {len(joined) / len(in_corpus):.3f}; "
        f"arXiv ids held by two stories: {shared}"
    )

    items = feed_items(DATA / "feeds")
    for name, subset in (
        ("labs + blogs", items),
        ("labs", [i for i in items if i.feed.startswith("labs/")]),
        ("blogs", [i for i in items if i.feed.startswith("blogs/")]),
    ):
        ev = evaluate(subset, labels())
        print(
            f"near-duplicates, {name}: {len(subset)} items, {ev.truth} same-post pairs across "
            f"feeds, {ev.found} joined, {ev.true_positives} right: precision "
            f"{ev.precision:.3f}, recall {ev.recall:.3f}, unlabeled {len(ev.unlabeled)}"
        )
    print(f"load average at end: {os.getloadavg()}")
    radar.close()


if __name__ == "__main__":
    main()
