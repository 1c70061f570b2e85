"""The evaluation's tasks: who the user is, what they tagged, and what they would pick.

Each :class:`Task` is one simulated user: positives (papers the user tagged), a set of
candidates to rank, and the relevant candidates (what the user would pick).  Two kinds
come from real human choices, two are built from metadata:

* ``curator`` — follow the Hugging Face Daily Papers curators.  Ten snapshots of that
  feed (``feeds/hf-daily-papers``) list what the curators picked on ten days between
  2025 and 2026.  For each snapshot day, the user has tagged every pick of the earlier
  snapshots that the corpus holds; the candidates are that day's new papers (listed on
  the snapshot day); the relevant ones are the day's picks among them.  ``curator-week``
  ranks the whole week up to the snapshot day instead (what ``recommend`` shows first),
  and ``curator-3`` knows the user through only 3 earlier picks (drawn at random).
* ``labs`` — papers cited by AI labs and newsletters (``feeds/labs``): the cited papers
  listed before a cut are the positives, those listed in the span after it the relevant
  ones, among every paper of that span.  Few papers: a noisy task, reported for what it is.
* ``author`` — author continuation: an author's earlier papers predict their later ones.
  Author names are the answer here, so a method that reads names is marked.
* ``cat-cold`` / ``cat-warm`` — a reader of one arXiv category known through 3 or 25 papers.

**Splits.**  Every weight that was chosen by looking at results was chosen on the
``dev`` split and every figure reported is on the ``test`` split.  The curator days
alternate between the two (the earliest task day is ``test``, the next ``dev``, and so
on); the author and category tasks of the dev split are drawn with another seed
(``seed + 1``) than those of the test split.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlradar._rank.corpus import Corpus, day_number

IntArray = npt.NDArray[np.int64]

#: Categories that hold more than this share of the corpus are too broad to be a topic.
BROAD_SHARE = 0.10
#: The curator task's week: the snapshot day and the six days before it.
WEEK_DAYS = 7
#: Where the labs task cuts the cited papers' listing days (quantiles): each cut's span
#: runs to the next cut (the last to the end of the corpus).
LAB_CUTS = (0.4, 0.55, 0.7, 0.85)
_SNAPSHOT_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.(xml|json)$")


@dataclass(frozen=True, slots=True)
class Task:
    """One simulated user.  ``candidates`` None means every paper listed from ``cut_day``."""

    kind: str
    name: str
    positives: IntArray
    relevant: IntArray
    cut_day: int
    candidates: IntArray | None = None
    split: str = "test"

    def candidate_rows(self, days: npt.NDArray[np.int32]) -> IntArray:
        if self.candidates is not None:
            return self.candidates
        return np.flatnonzero(days >= self.cut_day).astype(np.int64)


# -- real choices: the curators -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Picks:
    """The arXiv ids one feed snapshot (or one lab's feed) links to, and its day."""

    day: date
    arxiv_ids: tuple[str, ...]
    source: str = ""


def _feed_ids(path: Path) -> tuple[tuple[str, ...], list[date]]:
    """arXiv ids named by a feed file (parsed as the product parses feeds), and the entries'
    days."""
    from mlradar._sources.feed import parse_feed

    feed = parse_feed(path.read_bytes(), path.resolve().as_uri())
    ids = tuple(dict.fromkeys(i for e in feed.entries for i in e.arxiv_ids))
    days = [e.published_at.date() for e in feed.entries if e.published_at is not None]
    return ids, days


def curator_picks(folder: Path) -> list[Picks]:
    """The picks of each daily snapshot in ``folder``, oldest first.

    A snapshot's day is in its file name (``2025-05-29.xml``); another file (``latest.json``)
    is dated by its newest entry.
    """
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".xml", ".json"):
            continue
        ids, days = _feed_ids(path)
        named = _SNAPSHOT_NAME.search(path.name)
        if named:
            day = date.fromisoformat(named.group(1))
        elif days:
            day = max(days)
        else:
            continue
        out.append(Picks(day, ids, path.name))
    return sorted(out, key=lambda p: p.day)


def lab_citations(folder: Path) -> list[Picks]:
    """The arXiv ids each lab or newsletter feed under ``folder`` links to."""
    out = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".xml", ".json") or not path.is_file():
            continue
        ids, days = _feed_ids(path)
        if ids:
            out.append(Picks(max(days) if days else date.min, ids, path.stem))
    return out


def _split_of(i: int) -> str:
    return "test" if i % 2 == 0 else "dev"


def curator_tasks(
    corpus: Corpus,
    picks: Sequence[Picks],
    *,
    split: str,
    few: int = 3,
    few_draws: int = 5,
    seed: int = 0,
) -> list[Task]:
    """``curator``, ``curator-week`` and ``curator-<few>`` tasks of one split (see above)."""
    days = corpus.days
    index = {d.key: i for i, d in enumerate(corpus.docs)}
    rng = np.random.default_rng(seed)
    tasks: list[Task] = []
    earlier: list[int] = []
    numbered = 0
    for p in picks:
        rows = np.array(sorted({index[a] for a in p.arxiv_ids if a in index}), dtype=np.int64)
        positives = np.array(sorted(set(earlier)), dtype=np.int64)
        snap = day_number(p.day)
        day_cands = np.setdiff1d(np.flatnonzero(days == snap), positives)
        week = (days > snap - WEEK_DAYS) & (days <= snap)
        week_cands = np.setdiff1d(np.flatnonzero(week), positives)
        usable = len(positives) >= few and len(np.intersect1d(rows, week_cands)) > 0
        if usable:
            task_split = _split_of(numbered)
            numbered += 1
            if task_split == split:
                name = p.day.isoformat()
                if len(np.intersect1d(rows, day_cands)):
                    tasks.append(
                        Task("curator", name, positives, rows, snap, day_cands, task_split)
                    )
                    for d in range(few_draws):
                        drawn = np.sort(rng.choice(positives, size=few, replace=False))
                        tasks.append(
                            Task(
                                f"curator-{few}",
                                f"{name}#{d}",
                                drawn,
                                rows,
                                snap,
                                day_cands,
                                task_split,
                            )
                        )
                tasks.append(
                    Task(
                        "curator-week",
                        name,
                        positives,
                        rows,
                        snap - WEEK_DAYS + 1,
                        week_cands,
                        task_split,
                    )
                )
        earlier.extend(int(r) for r in rows)
    return tasks


def labs_tasks(corpus: Corpus, citations: Iterable[Picks], *, split: str) -> list[Task]:
    """``labs`` tasks: cited papers before each cut as positives, the next span's as relevant.

    The spans alternate between the splits as the curator days do.
    """
    index = {d.key: i for i, d in enumerate(corpus.docs)}
    cited = np.array(
        sorted({index[a] for c in citations for a in c.arxiv_ids if a in index}), dtype=np.int64
    )
    if len(cited) < 10:
        return []
    days = corpus.days
    cut_days = [int(np.quantile(days[cited], q)) for q in LAB_CUTS]
    ends = [*cut_days[1:], int(days.max()) + 1]
    tasks = []
    for i, (cut, end) in enumerate(zip(cut_days, ends, strict=True)):
        if _split_of(i) != split:
            continue
        positives = cited[days[cited] < cut]
        relevant = cited[(days[cited] >= cut) & (days[cited] < end)]
        candidates = np.flatnonzero((days >= cut) & (days < end)).astype(np.int64)
        if len(positives) >= 3 and len(relevant):
            tasks.append(
                Task("labs", f"from day {cut}", positives, relevant, cut, candidates, split)
            )
    return tasks


# -- built from metadata ------------------------------------------------------------------------


def author_tasks(corpus: Corpus, limit: int, seed: int, min_papers: int = 6) -> list[Task]:
    """Author continuation tasks for a seeded sample of authors with ``min_papers`` papers."""
    if limit <= 0:
        return []
    days = corpus.days
    by_author: dict[str, list[int]] = defaultdict(list)
    for row, doc in enumerate(corpus.docs):
        for name in set(doc.authors):
            by_author[name].append(row)
    names = sorted(a for a, rows in by_author.items() if len(rows) >= min_papers)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    tasks: list[Task] = []
    for i in order:
        rows = np.array(sorted(by_author[names[i]], key=lambda r: (days[r], r)), dtype=np.int64)
        cut = int(days[rows[len(rows) // 2]])
        before, after = rows[days[rows] < cut], rows[days[rows] >= cut]
        if len(before) < 3 or len(after) < 3:
            continue  # papers listed the same day cannot be split; skip, never guess
        tasks.append(Task("author", names[i], before, after, cut))
        if len(tasks) >= limit:
            break
    return tasks


def category_tasks(
    corpus: Corpus, n_positives: int, draws: int, seed: int, cut_quantile: float, kind: str
) -> list[Task]:
    """One-category-interest tasks: ``n_positives`` tagged papers before the global cut."""
    days = corpus.days
    cut = int(np.quantile(days, cut_quantile))
    by_cat: dict[str, list[int]] = defaultdict(list)
    for row, doc in enumerate(corpus.docs):
        for cat in set(doc.categories):
            by_cat[cat].append(row)
    rng = np.random.default_rng(seed)
    tasks: list[Task] = []
    for cat in sorted(by_cat):
        rows = np.array(by_cat[cat], dtype=np.int64)
        if len(rows) > BROAD_SHARE * len(corpus):
            continue
        before, after = rows[days[rows] < cut], rows[days[rows] >= cut]
        if len(before) < max(n_positives, 3) * 2 or len(after) < 10:
            continue
        for d in range(draws):
            pos = np.sort(rng.choice(before, size=n_positives, replace=False))
            tasks.append(Task(kind, f"{cat}#{d}", pos, after, cut))
    return tasks


__all__ = [
    "Picks",
    "Task",
    "author_tasks",
    "category_tasks",
    "curator_picks",
    "curator_tasks",
    "lab_citations",
    "labs_tasks",
]
