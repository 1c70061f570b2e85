"""Benchmark: what joining accepted papers by title and first author costs, and how well
it joins, on the real arXiv snapshot.

    PYTHONPATH=src python benchmarks/paper_title_join.py [--runs 2] [--venue 3000]

In one run it measures:

* the bulk import of the real ``papers.jsonl.gz`` (74,728 papers) into a fresh SQLite
  database with this tree's code and with the anchor's (``--anchor-src``, by default
  ``../main/src``: the code before title keys), alternating, each in its own subprocess,
  ranking index left out (``index=False``) so that only the paper writes are compared;
* migration 0008 on the anchor's 74,728-paper database (computing every title key);
* an OpenReview-sized venue: ``--venue`` real papers of the snapshot re-typeset as a
  conference lists them (title case and punctuation changed, first author as an initial,
  no arXiv id) plus a third as many papers that are on no list, stored as one batch
  against the 74,728 papers: the time, and how many joined their own arXiv record
  (recall), joined a wrong one, or joined anything while not on arXiv;
* the title keys the snapshot itself shares between different papers (where a join by
  title could not tell which is meant).

Results print as Markdown.  Nothing is written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"

_IMPORT = r"""
import json, sys, time
from mlradar._radar import make_radar
db, path = sys.argv[1], sys.argv[2]
with make_radar(db) as radar:
    wall = time.perf_counter()
    summary = radar.import_arxiv_snapshot(path, index=False)
    wall = time.perf_counter() - wall
print(json.dumps({"papers": summary.papers, "wall": wall}))
"""

_MIGRATE = r"""
import json, sys, time
wall = time.perf_counter()
from mlradar._storage import open_storage
storage = open_storage(sys.argv[1])
wall = time.perf_counter() - wall
print(json.dumps({"papers": storage.count_papers(), "wall": wall}))
storage.close()
"""


def _run(src: Path, script: str, *args: str) -> dict[str, float]:
    import orjson

    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, check=True, capture_output=True, text=True
    ).stdout
    return orjson.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _retypeset(title: str, rng: random.Random) -> str:
    """A title as a conference page may print it: other case, other punctuation."""
    variants = [
        title.lower(),
        title.upper(),
        title.replace(":", " -").replace("-", " "),
        title.rstrip(".") + ".",
        title.title(),
    ]
    return rng.choice(variants)


def _initial(name: str) -> str:
    parts = name.split()
    return f"{parts[0][0]}. {' '.join(parts[1:])}" if len(parts) > 1 else name


def venue_join(db_url: str, n: int) -> dict[str, object]:
    """Store a venue's papers against the snapshot's and count what joined."""
    from mlradar._papers import store_papers
    from mlradar._storage import open_storage
    from mlradar.types import Paper, PaperId

    storage = open_storage(db_url)
    try:
        rng = random.Random(20261202)
        corpus = [p for p in storage.iter_papers() if p.authors and p.title]
        chosen = rng.sample(corpus, n)
        papers = [
            Paper(
                arxiv_id=None,
                title=_retypeset(p.title, rng),
                authors=(_initial(p.authors[0]), *p.authors[1:]),
                categories=(),
                abstract="",
                first_version_at=None,
                updated_at=None,
                venue="Benchmark 2025",
                ids=(PaperId("openreview", f"bench{i:06d}"),),
            )
            for i, p in enumerate(chosen)
        ]
        outsiders = [
            Paper(
                arxiv_id=None,
                title=f"A study of zebracorn number {i} in the wild",
                authors=("Grace Hopper",),
                categories=(),
                abstract="",
                first_version_at=None,
                updated_at=None,
                venue="Benchmark 2025",
                ids=(PaperId("openreview", f"outside{i:06d}"),),
            )
            for i in range(n // 3)
        ]
        before = storage.count_papers()
        wall = time.perf_counter()
        counts = store_papers(storage, [*papers, *outsiders])
        wall = time.perf_counter() - wall
        right = wrong = 0
        wrong_pairs: list[tuple[str | None, str | None, str]] = []
        for i, p in enumerate(chosen):
            got = storage.get_paper(PaperId("openreview", f"bench{i:06d}"))
            if got is not None and got.arxiv_id == p.arxiv_id:
                right += 1
            elif got is not None and got.arxiv_id is not None:
                wrong += 1
                wrong_pairs.append((p.arxiv_id, got.arxiv_id, p.title))
        joined_outsiders = sum(
            1
            for i in range(n // 3)
            if (got := storage.get_paper(PaperId("openreview", f"outside{i:06d}"))) is not None
            and got.arxiv_id is not None
        )
        keys = Counter(
            title_key_of(p.title, p.authors) for p in corpus if title_key_of(p.title, p.authors)
        )
        shared = {k: c for k, c in keys.items() if c > 1}
        return {
            "stored": before,
            "venue": n,
            "outsiders": n // 3,
            "seconds": wall,
            "counts": counts,
            "right": right,
            "wrong": wrong,
            "wrong_pairs": wrong_pairs,
            "joined_outsiders": joined_outsiders,
            "shared_keys": len(shared),
            "papers_on_shared_keys": sum(shared.values()),
            "examples": sorted(shared)[:3],
        }
    finally:
        storage.close()


def title_key_of(title: str, authors: tuple[str, ...]) -> str | None:
    from mlradar._papers import title_key

    return title_key(title, authors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--venue", type=int, default=3000)
    parser.add_argument("--anchor-src", type=Path, default=ROOT.parent / "main" / "src")
    args = parser.parse_args()
    if not SNAPSHOT.exists():
        sys.exit(f"the real snapshot is missing: {SNAPSHOT}")
    print(f"# paper title join — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    ours: list[float] = []
    anchor: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for label, src, sink in (
                ("anchor", args.anchor_src, anchor),
                ("title keys", ROOT / "src", ours),
            ):
                db = f"sqlite:///{tmp}/{label.replace(' ', '_')}-{run}.sqlite"
                got = _run(src, _IMPORT, db, str(SNAPSHOT))
                sink.append(float(got["wall"]))
                print(f"import run {run} {label}: {got['papers']} papers, {got['wall']:.1f} s")
        if args.runs:
            mig = _run(ROOT / "src", _MIGRATE, f"sqlite:///{tmp}/anchor-0.sqlite")
            print(f"migration 0008 on {mig['papers']} papers: {mig['wall']:.1f} s (open included)")
        else:  # the join alone: one import to join against
            _run(ROOT / "src", _IMPORT, f"sqlite:///{tmp}/title_keys-0.sqlite", str(SNAPSHOT))
        join = venue_join(f"sqlite:///{tmp}/title_keys-0.sqlite", args.venue)
    print(f"load average after: {os.getloadavg()}")
    print()
    if not args.runs:
        print(f"venue join: {join}")
        return
    print("| import of 74,728 papers (index=False) | median (s) | runs (s) |")
    print("|---|---:|---|")
    print(f"| anchor (no title keys) | {statistics.median(anchor):.1f} | {anchor} |")
    print(f"| title keys | {statistics.median(ours):.1f} | {ours} |")
    print(f"ratio title keys / anchor: {statistics.median(ours) / statistics.median(anchor):.2f}")
    print()
    print(f"venue join: {join}")
    if join["venue"]:
        print(f"recall {join['right']}/{join['venue']} = {join['right'] / join['venue']:.4f}")  # type: ignore[operator]


if __name__ == "__main__":
    main()
