"""Priors from outside the text: how much a paper is discussed, and how new it is.

The text model (:mod:`mlradar._rank.models`) says how close a paper is to what the user
tagged.  Two things it cannot see also matter to a reader: that a paper is being talked
about (posts, stories and threads in the user's sources name it), and that it is new.
Both are applied *after* the model, as small bounded additive terms, on a shortlist of
the model's best candidates; the shortlist is provably long enough (see
:func:`shortlist_is_enough`), so the result is what re-scoring every candidate would give.

Honesty about the weights: there are no labels for these signals.  The evaluation data
(an arXiv snapshot) has no discussion and every task is judged by topic alone, so the
weights below are priors chosen by argument, not tuned: small enough that they re-order
papers of about equal relevance and never lift an off-topic paper over an on-topic one.
Each term is measured in units of the spread (standard deviation) of the model's scores
over the request's candidates, so "0.5" means "at most half a standard deviation of
relevance", whatever channels (lexical, dense, linear) the model blended.

Everything here is a pure function of arrays and rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SignalConfig:
    """Weights of the priors (0 turns one off) and how deep the shortlist starts."""

    #: Most a discussed paper can gain, in spreads of the model's scores.  Measured on the
    #: real 75k-paper snapshot (8 topics of 20 tagged papers; day, week and month windows;
    #: lexical model): neighbours in a top 20 are a median 0.04-0.33 spreads apart, and the
    #: 20th is 1.4-10 spreads above the median candidate.  Half a spread therefore moves a
    #: much-discussed paper up a few places among near-equals, and cannot carry a typical
    #: (off-topic) candidate into the top 20.
    discussion_weight: float = 0.5
    #: Distinct places (sources) from which more discussion adds nothing: a paper on HN,
    #: two subreddits and a blog is "widely discussed"; the tenth place is not news.
    discussion_cap: int = 8
    #: Most an old paper can lose to the newest of its window, in spreads.  A quarter
    #: spread is a tie-breaker, not a filter: the window already chose "recent".
    recency_weight: float = 0.25
    #: Age (days before the window's last day) at which half of the recency penalty
    #: applies.  Two weeks: a month-long window still prefers its newest papers gently.
    recency_half_life_days: float = 14.0
    #: Candidates re-scored first; 4x more each time the bound (:func:`shortlist_is_enough`)
    #: says one left out could still climb in (on the snapshot above, 100 always sufficed).
    depth: int = 100

    def __post_init__(self) -> None:
        if min(self.discussion_weight, self.recency_weight, self.recency_half_life_days) < 0:
            raise ValueError("signal weights and the half-life must not be negative")
        if self.discussion_cap < 1 or self.depth < 1:
            raise ValueError("discussion_cap and depth must be at least 1")

    @property
    def max_lift(self) -> float:
        """The most any candidate can gain over its model score, in spreads."""
        # Recency only ever subtracts (the newest day gets 0), so discussion bounds it.
        return self.discussion_weight


def discussion_prior(places: npt.ArrayLike, cap: int) -> FloatArray:
    """``log(1 + places) / log(1 + cap)``, capped: 0 for none, 1 from ``cap`` places on.

    Log-damped because the first place that discusses a paper says the most; capped so
    that a paper everybody links cannot run away from the relevance that ranks it.
    """
    n = np.clip(np.asarray(places, dtype=np.float64), 0, cap)
    out: FloatArray = np.log1p(n) / np.log1p(cap)
    return out


def recency_prior(days: npt.ArrayLike, newest_day: int, half_life_days: float) -> FloatArray:
    """``2 ** (-age / half_life) - 1`` in [-1, 0]: 0 on ``newest_day``, -1/2 one half-life
    earlier.  All zeros when the half-life is 0 (the signal is off)."""
    d = np.asarray(days, dtype=np.float64)
    if half_life_days <= 0:
        return np.zeros(d.shape, dtype=np.float64)
    age = np.maximum(newest_day - d, 0.0)
    out: FloatArray = np.exp2(-age / half_life_days) - 1.0
    return out


def passed(model_rank: npt.ArrayLike, adjusted: npt.ArrayLike) -> BoolArray:
    """For each candidate: does ``adjusted`` put it above one the model ranked above it?

    ``model_rank`` is each candidate's place in the model's order (any increasing numbers
    will do: a subset of the candidates keeps its places).  Ties do not pass.
    """
    ranks = np.asarray(model_rank)
    scores = np.asarray(adjusted, dtype=np.float64)
    out = np.zeros(len(ranks), dtype=bool)
    if len(ranks) < 2:
        return out
    model_order = np.argsort(ranks, kind="stable")
    in_model_order = scores[model_order]
    # The lowest adjusted score among those the model ranked higher.
    lowest_above = np.minimum.accumulate(np.concatenate(([np.inf], in_model_order[:-1])))
    out[model_order] = in_model_order > lowest_above
    return out


@dataclass(frozen=True, slots=True)
class Reranked:
    """The model's scores with the priors applied; arrays are aligned with the inputs."""

    order: IntArray
    """Input positions, best first (ties keep the model's order)."""
    score: FloatArray
    discussion: FloatArray
    """What discussion added to each score (score units)."""
    recency: FloatArray
    """What recency added (zero or negative)."""
    model_rank: IntArray
    """Each input's place in the model's order (0 is the model's best)."""

    def lifted(self, which: IntArray) -> tuple[BoolArray, BoolArray]:
        """Among the inputs ``which`` (say, those shown): which did discussion alone, and
        which did recency alone, move above one of them that the model preferred?"""
        ranks = self.model_rank[which]
        base = self.score[which] - self.discussion[which] - self.recency[which]
        return (
            passed(ranks, base + self.discussion[which]),
            passed(ranks, base + self.recency[which]),
        )


def rerank(
    model: npt.ArrayLike,
    places: npt.ArrayLike,
    days: npt.ArrayLike,
    newest_day: int,
    spread: float,
    cfg: SignalConfig,
) -> Reranked:
    """Apply both priors to the model's scores of some candidates and re-sort them.

    ``places`` counts the distinct places discussing each candidate; ``days`` are their
    listing days; ``newest_day`` is the window's last day, so a one-day window gets no
    recency term at all; ``spread`` is the standard deviation of the model's scores over
    *every* candidate of the request (not only these), the unit of both terms.
    """
    base = np.asarray(model, dtype=np.float64)
    unit = spread if spread > 1e-12 else 1.0
    discussion = unit * cfg.discussion_weight * discussion_prior(places, cfg.discussion_cap)
    recency = (
        unit * cfg.recency_weight * recency_prior(days, newest_day, cfg.recency_half_life_days)
    )
    score = base + discussion + recency
    model_order = np.argsort(-base, kind="stable").astype(np.int64)
    order = model_order[np.argsort(-score[model_order], kind="stable")].astype(np.int64)
    model_rank = np.empty(len(base), dtype=np.int64)
    model_rank[model_order] = np.arange(len(base))
    return Reranked(
        order=order, score=score, discussion=discussion, recency=recency, model_rank=model_rank
    )


def shortlist_is_enough(
    best_left_out: float | None, kth_score: float, spread: float, cfg: SignalConfig
) -> bool:
    """Whether no candidate outside the shortlist can reach the shortlist's k-th score.

    ``best_left_out`` is the best model score not shortlisted (None: nothing was left
    out); no prior can lift a candidate by more than ``max_lift`` spreads.  A candidate
    that could only tie stays below: ties keep the model's order.
    """
    if best_left_out is None:
        return True
    unit = spread if spread > 1e-12 else 1.0
    return best_left_out + unit * cfg.max_lift <= kth_score


# -- discussion: which items count -------------------------------------------------------------


class MentionRow(NamedTuple):
    """One item naming one paper (by database id), with the source it came from."""

    paper: int
    item_id: int
    source_id: int
    source_kind: str
    source_url: str
    source_name: str
    #: The item's points and comments where its source counts them (HN, Reddit).
    points: int | None = None
    comments: int | None = None


@dataclass(frozen=True, slots=True)
class Discussion:
    """Who talks about one paper: items naming it, and the distinct places discussing it."""

    items: int = 0
    """Every stored item naming the paper (arXiv's own listings included)."""
    places: tuple[str, ...] = ()
    """Names of the distinct sources that discuss it (arXiv's own listings left out)."""
    talk: int = 0
    """Points and comments of the items discussing it (HN points, Reddit scores), summed."""

    @property
    def weight(self) -> float:
        """What the discussion prior counts: the places, plus ``log10(1 + talk)``, so a
        thread with a hundred points and comments counts as two more places.  Log-damped
        like the places, and capped with them (:func:`discussion_prior`), so a viral thread
        cannot outrank relevance."""
        return len(self.places) + math.log10(1 + self.talk)


def is_listing_source(kind: str, url: str) -> bool:
    """arXiv's own feeds announce every paper: being listed there is not being discussed."""
    if kind == "arxiv":
        return True
    host = (urlsplit(url).hostname or "").lower()
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def summarize_discussion(rows: Iterable[MentionRow]) -> dict[int, Discussion]:
    """Per paper: how many items name it and which places (sources) discuss it."""
    items: dict[int, set[int]] = {}
    places: dict[int, dict[int, str]] = {}
    talk: dict[int, dict[int, int]] = {}  # per paper, per item: an item may come twice
    listing: dict[int, bool] = {}  # per source: a few sources name many papers
    for r in rows:
        items.setdefault(r.paper, set()).add(r.item_id)
        if r.source_id not in listing:
            listing[r.source_id] = is_listing_source(r.source_kind, r.source_url)
        if not listing[r.source_id]:
            places.setdefault(r.paper, {}).setdefault(r.source_id, r.source_name)
            said = talk.setdefault(r.paper, {})
            counted = max(0, r.points or 0) + max(0, r.comments or 0)
            said[r.item_id] = max(said.get(r.item_id, 0), counted)
    return {
        paper: Discussion(
            len(ids),
            tuple(sorted(places.get(paper, {}).values(), key=str.lower)),
            sum(talk.get(paper, {}).values()),
        )
        for paper, ids in items.items()
    }


def describe_places(places: Sequence[str], shown: int = 3) -> str:
    """``discussed in 3 places (HN, r/MachineLearning, Lil'Log)``; more names elided."""
    names = ", ".join(places[:shown]) + (", ..." if len(places) > shown else "")
    noun = "place" if len(places) == 1 else "places"
    return f"discussed in {len(places)} {noun} ({names})"


__all__ = [
    "Discussion",
    "MentionRow",
    "Reranked",
    "SignalConfig",
    "describe_places",
    "discussion_prior",
    "is_listing_source",
    "passed",
    "recency_prior",
    "rerank",
    "shortlist_is_enough",
    "summarize_discussion",
]
