"""Near-duplicate precision and recall on real feeds: shared by the tests and the benchmark.

The truth: two items of *different* feeds are the same post when their URLs agree (up to
a trailing slash), or when a hand label says so (``fixtures/stories/near-duplicate-labels.tsv``:
cross-posts and moved posts).  The check under test sees only titles and texts, never URLs.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mlradar._identity import canonical_url_or_none
from mlradar._model import ParsedEntry
from mlradar._sources.feed import parse_feed
from mlradar._stories import near_duplicates, near_keys
from mlradar.exceptions import RadarError

LABELS = Path(__file__).parent / "fixtures" / "stories" / "near-duplicate-labels.tsv"


@dataclass(frozen=True)
class FeedItem:
    feed: str
    entry: ParsedEntry

    @property
    def url(self) -> str:
        return (canonical_url_or_none(self.entry.url) or "").rstrip("/")


def feed_items(root: Path, folders: tuple[str, ...] = ("labs", "blogs")) -> list[FeedItem]:
    out = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.xml")):
            rel = str(path.relative_to(root))
            try:
                feed = parse_feed(path.read_bytes(), "https://feeds.example/" + rel)
            except RadarError:
                continue  # sitemaps beside the feeds
            out += [FeedItem(rel, e) for e in feed.entries]
    return out


def labels(path: Path = LABELS) -> dict[frozenset[str], bool]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        a, b, same, _why = line.split("\t")
        out[frozenset((a.rstrip("/"), b.rstrip("/")))] = same == "1"
    return out


@dataclass
class Evaluation:
    truth: int = 0
    found: int = 0
    true_positives: int = 0
    false_positives: list[tuple[FeedItem, FeedItem]] = field(default_factory=list)
    unlabeled: list[tuple[FeedItem, FeedItem]] = field(default_factory=list)
    missed: list[tuple[FeedItem, FeedItem]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 1.0


def evaluate(items: list[FeedItem], labelled: dict[frozenset[str], bool]) -> Evaluation:
    """Pairs across feeds: which the near keys propose and :func:`near_duplicates` joins,
    against the truth (an unlabeled pair with different URLs counts as a false positive)."""
    by_url: dict[str, list[int]] = defaultdict(list)
    by_key: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        if item.url:
            by_url[item.url].append(n)
        for key in near_keys(item.entry.title):
            by_key[key].append(n)

    def pairs(groups: dict[str, list[int]]) -> set[tuple[int, int]]:
        return {
            (a, b)
            for ids in groups.values()
            for a, b in itertools.combinations(sorted(set(ids)), 2)
            if items[a].feed != items[b].feed
        }

    same = pairs(by_url) | {
        (a, b)
        for a, b in pairs(by_key)
        if labelled.get(frozenset((items[a].url, items[b].url)), False)
    }
    ev = Evaluation(truth=len(same))
    for a, b in sorted(pairs(by_key)):
        ea, eb = items[a].entry, items[b].entry
        if not near_duplicates(ea.title, ea.text, eb.title, eb.text):
            continue
        ev.found += 1
        if (a, b) in same:
            ev.true_positives += 1
        else:
            ev.false_positives.append((items[a], items[b]))
            if frozenset((items[a].url, items[b].url)) not in labelled:
                ev.unlabeled.append((items[a], items[b]))
    found = {(a, b) for a, b in pairs(by_key)} & same
    ev.missed = [
        (items[a], items[b])
        for a, b in sorted(same)
        if (a, b) not in found
        or not near_duplicates(
            items[a].entry.title, items[a].entry.text, items[b].entry.title, items[b].entry.text
        )
    ]
    return ev
