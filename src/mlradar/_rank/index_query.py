"""Answering ranking questions from an index: the reader's side.

:class:`IndexQuery` reads an index's rows: candidates in a window, features of rows,
channel scores against a profile, "papers like these" candidates, dense nearest
neighbours for search, and the shared terms that explain a match.  :func:`rank_all`
scores candidates over several indexes (papers and items) on one scale and returns a
:class:`Shortlist`.  Nothing here writes: a reader sees a writer's work through
:meth:`~mlradar._rank.index_base.IndexBase.refresh_view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.ann import SHORTLIST, default_probes, matvec
from mlradar._rank.corpus import day_number
from mlradar._rank.features import AUTHOR_FEATURES
from mlradar._rank.index_base import FloatArray, IndexBase, IntArray
from mlradar._rank.models import (
    CHANNELS,
    Profile,
    Scores,
    background_sample,
    score_profile,
    standardize,
)
from mlradar._rank.signals import passed
from mlradar._rank.terms import name_columns

#: Where in a channel matrix each channel is.
CHANNEL = {name: i for i, name in enumerate(CHANNELS)}


@dataclass(frozen=True, slots=True)
class Ranked:
    """One ranked row: store row, database id, score, nearest positive (index), its similarity,
    its author affinity (before the profile's weight; 0 without the channel), and what each
    of :data:`~mlradar._rank.models.CHANNELS` added to the score."""

    row: int
    db_id: int
    score: float
    nearest: int
    nearest_sim: float
    authors: float = 0.0
    contributions: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class SharedTerm:
    """A word the candidate shares with the user's papers, and its share of their
    lexical similarity (the shares of all shared terms add up to 1)."""

    term: str
    share: float


class IndexQuery(IndexBase):
    """Reads one index's rows; never writes."""

    def window(self, since: date | None, until: date | None) -> IntArray:
        days = np.asarray(self.store.days)
        mask = (
            np.ones(len(days), dtype=bool)
            if self.store.meta.moves == 0
            else self.store.live_mask().copy()
        )
        if since is not None:
            mask &= days >= day_number(since)
        if until is not None:
            mask &= days <= day_number(until)
        return np.flatnonzero(mask).astype(np.int64)

    def newest_day(self) -> int | None:
        days = np.asarray(self.store.days)
        if self.store.meta.moves:
            days = days[self.store.live_mask()]
        return int(np.max(days)) if len(days) else None

    def days_of(self, rows: IntArray) -> npt.NDArray[np.int32]:
        """Listing days (days since 1970-01-01) of rows."""
        return np.asarray(self.store.days[np.asarray(rows, dtype=np.int64)], dtype=np.int32)

    def lexical(self, rows: IntArray) -> sp.csr_matrix:
        return self.encoder.weigh(self.store.rows_tf(rows), self.idf())

    def authors(self, rows: IntArray) -> sp.csr_matrix:
        """Binary rows over the hashed author names (see :attr:`has_authors`)."""
        return self.store.rows_authors(np.asarray(rows, dtype=np.int64))

    def dense(self, rows: IntArray) -> npt.NDArray[np.float16] | None:
        return self.store.dense_rows(rows) if self.has_dense else None

    # -- ranking -------------------------------------------------------------------------------

    def channels(
        self, profile: Profile, rows: IntArray, use_dense: bool, chunk: int = 50_000
    ) -> Scores:
        """Raw per-channel scores of ``rows`` (their ``raw()`` matrix is what is blended).

        Author affinity (and the team-size evidence) is scored when the profile has author
        weights and this index has every row's authors.
        """
        use_authors = profile.author_weights is not None and self.has_authors
        parts = [
            score_profile(
                profile,
                self.lexical(rows[start : start + chunk]),
                self.dense(rows[start : start + chunk]) if use_dense else None,
                self.authors(rows[start : start + chunk]) if use_authors else None,
            )
            for start in range(0, len(rows), chunk)
        ]
        if not parts:
            empty = np.zeros(0, dtype=np.float32)
            return Scores(empty, np.zeros(0, np.int64), empty, empty, None)
        if len(parts) == 1:
            return parts[0]

        def join(values: list[FloatArray | None]) -> FloatArray | None:
            present = [v for v in values if v is not None]
            return np.concatenate(present) if len(present) == len(values) else None

        lexical = np.concatenate([s.lexical for s in parts])
        return Scores(
            np.concatenate([s.score for s in parts]),
            np.concatenate([s.nearest for s in parts]),
            np.concatenate([s.nearest_sim for s in parts]),
            lexical,
            join([s.dense for s in parts]),
            join([s.linear for s in parts]),
            join([s.dense_linear for s in parts]),
            join([s.authors for s in parts]),
            join([s.links for s in parts]),
            join([s.team for s in parts]),
        )

    def background(self, size: int, exclude: IntArray) -> IntArray:
        """A fixed random sample of rows (the linear model's negatives), minus ``exclude``
        and minus retired rows (an old version of a paper is not a paper)."""
        if self.store.meta.moves:
            exclude = np.union1d(exclude, self.store.retired_rows())
        return background_sample(self.store.meta.rows, size, exclude)

    def related_candidates(self, profile: Profile, shortlist: int = 3000) -> IntArray:
        """Rows worth scoring for "papers like these": all of them, or on a large embedded
        corpus the ``shortlist`` nearest by embedding (an IVF probe) plus papers by the
        positives' rarest authors (:meth:`rows_by_authors`), rescored by the caller.
        """
        rows = self.store.meta.rows
        if not self.has_dense or profile.pos_dense is None or rows < self.ann_min_rows:
            return self.store.live_rows(np.arange(rows, dtype=np.int64))
        query = profile.pos_dense.mean(axis=0)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        near = self.semantic_neighbours(query, shortlist)
        found = self.rows_of([db_id for db_id, _ in near])
        if profile.author_weights is not None and self.has_authors:
            # A paper by the same authors can be far in embedding space (another topic of
            # theirs): the author channel would rank it, so it must be a candidate.
            found = np.union1d(found, self.rows_by_authors(profile.author_weights, shortlist))
        return np.sort(found)

    def rows_by_authors(self, weights: FloatArray, limit: int) -> IntArray:
        """Live rows naming any author with a positive weight, the rarest names first,
        stopping before the rows found would exceed ``limit`` (a scan of the author rows).
        """
        columns = np.flatnonzero(weights > 0)
        if not len(columns) or not self.has_authors:
            return np.zeros(0, dtype=np.int64)
        counts = self.author_doc_freq().counts[columns]
        order = np.argsort(counts, kind="stable")
        within = np.cumsum(counts[order]) <= limit
        chosen = columns[order[within]]
        if not len(chosen):
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self.store.author_index_arrays()
        wanted = np.zeros(AUTHOR_FEATURES, dtype=bool)
        wanted[chosen] = True
        hits = np.flatnonzero(wanted[indices])
        rows = np.unique(np.searchsorted(indptr, hits, side="right") - 1).astype(np.int64)
        return self.store.live_rows(rows)

    def shared_terms(
        self, rows: IntArray, texts: Sequence[str], profile: Profile, k: int = 5
    ) -> list[tuple[SharedTerm, ...]]:
        """For each row (with its text, to name the hashed columns): the ``k`` words that
        weigh most in its lexical similarity to the positives' centroid, with their shares.

        One product for all rows: the rows' stored features times the centroid, computed
        once; only naming the best columns reads each text.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0 or profile.size == 0:
            return [() for _ in rows]
        contrib = sp.csr_matrix(self.lexical(rows).multiply(profile.lex_centroid))
        contrib.eliminate_zeros()
        out: list[tuple[SharedTerm, ...]] = []
        n_features = self.encoder.config.n_features
        for i, text in enumerate(texts):
            start, end = contrib.indptr[i], contrib.indptr[i + 1]
            values, cols = contrib.data[start:end], contrib.indices[start:end]
            total = float(values[values > 0].sum())
            if total <= 0:
                out.append(())
                continue
            best = np.argsort(-values, kind="stable")[: 3 * k]
            names = name_columns(text, (int(cols[j]) for j in best), n_features)
            chosen: list[SharedTerm] = []
            for j in best:
                name = names.get(int(cols[j]))
                if values[j] <= 0 or name is None:
                    continue
                # A bigram whose words are already shown says nothing new.
                if any(name in t.term or t.term in name for t in chosen):
                    continue
                chosen.append(SharedTerm(name, float(values[j]) / total))
                if len(chosen) >= k:
                    break
            out.append(tuple(chosen))
        return out

    def semantic_neighbours(
        self, query_vector: npt.NDArray[np.float32], limit: int, n_probe: int | None = None
    ) -> list[tuple[int, float]]:
        """``(db id, cosine)`` of the rows nearest to one embedding, best first.

        On a large corpus the IVF index's nearest clusters are probed and their best rows
        by the index's 8-bit codes (a shortlist) are re-scored exactly; otherwise every
        embedding is scanned in blocks.  Similarities are exact either way.
        """
        if not self.has_dense or limit <= 0:
            return []
        q = query_vector.astype(np.float32).ravel()
        ids = self.store.ids
        if self.ann.meta is not None and self.ann.assigned == self.store.meta.dense_rows:
            probes = n_probe or default_probes(self.ann.meta.n_lists)
            rows = self.ann.shortlist(q, probes, max(2 * limit, SHORTLIST))
            rows = rows[self.is_live(rows)]
            dense = self.store.dense_rows(rows)
            if dense is not None and len(rows):
                sims = matvec(dense.astype(np.float32), q)
                top = np.argsort(-sims, kind="stable")[:limit]
                return [(int(ids[rows[i]]), float(sims[i])) for i in top]
        best_rows = np.zeros(0, dtype=np.int64)
        best_sims = np.zeros(0, dtype=np.float32)
        for start, block in self.store.iter_dense():
            sims = matvec(block.astype(np.float32), q)
            live = self.is_live(np.arange(start, start + len(sims), dtype=np.int64))
            sims[~live] = -np.inf
            k = min(limit, len(sims))
            part = np.argpartition(-sims, k - 1)[:k]
            best_rows = np.concatenate([best_rows, part + start])
            best_sims = np.concatenate([best_sims, sims[part]])
            keep = np.argsort(-best_sims, kind="stable")[:limit]
            best_rows, best_sims = best_rows[keep], best_sims[keep]
        return [
            (int(ids[r]), float(s))
            for r, s in zip(best_rows, best_sims, strict=True)
            if np.isfinite(s)
        ]


class Shortlist:
    """Every candidate of a request scored by the model, best first; rows on demand.

    Scoring is the costly part; turning the best rows into :class:`Ranked` records is
    cheap, so a caller that re-orders the best few (the priors of
    :mod:`mlradar._rank.signals`) can take more without scoring again.
    """

    def __init__(
        self,
        numbered: Sequence[tuple[int, IndexQuery, IntArray]],
        scored: Sequence[Scores],
        standardized: FloatArray,
        weights: FloatArray,
        dense: bool = False,
    ) -> None:
        """``standardized``: every candidate's channels (z-scored over all candidates);
        ``weights``: the profile's weight of each channel; ``dense``: whether embeddings
        were scored (the nearest-positive similarities are then theirs)."""
        self.dense = dense
        self._numbered = numbered
        self._scored = scored
        self._z = standardized
        self._weights = np.asarray(weights, dtype=np.float32)
        self._total = (standardized @ self._weights).astype(np.float32)
        self._order = np.argsort(-self._total, kind="stable")
        self._owner = (
            np.concatenate(
                [np.full(len(r), i, dtype=np.int64) for i, (_, _, r) in enumerate(numbered)]
            )
            if numbered
            else np.zeros(0, np.int64)
        )
        self._local = (
            np.concatenate([np.arange(len(r), dtype=np.int64) for _, _, r in numbered])
            if numbered
            else np.zeros(0, np.int64)
        )
        #: Standard deviation of the scores over every candidate: the unit of the priors.
        self.spread = float(self._total.std()) if len(self._total) else 0.0

    def __len__(self) -> int:
        return len(self._total)

    @property
    def weights(self) -> FloatArray:
        return self._weights

    def score_at(self, rank: int) -> float | None:
        """The score at 0-based ``rank`` (the best one a ``take(rank)`` leaves out)."""
        return float(self._total[self._order[rank]]) if rank < len(self._order) else None

    def take(self, n: int) -> list[tuple[int, Ranked]]:
        """The ``n`` best rows: ``(part number, ranked row)`` pairs."""
        best = self._order[: max(n, 0)]
        owner, local = self._owner[best], self._local[best]
        rows = np.zeros(len(best), dtype=np.int64)
        db_ids = np.zeros(len(best), dtype=np.int64)
        nearest = np.zeros(len(best), dtype=np.int64)
        nearest_sim = np.zeros(len(best), dtype=np.float32)
        for k, (_part, ix, part_rows) in enumerate(self._numbered):
            mine = owner == k
            if not np.any(mine):
                continue
            rows[mine] = part_rows[local[mine]]
            db_ids[mine] = ix.store.ids[rows[mine]]
            nearest[mine] = self._scored[k].nearest[local[mine]]
            nearest_sim[mine] = self._scored[k].nearest_sim[local[mine]]
        contrib = self._z[best] * self._weights
        authors = self._z[best, CHANNEL["authors"]]  # raw: the authors channel is not z-scored
        return [
            (
                self._numbered[int(owner[i])][0],
                Ranked(
                    int(rows[i]),
                    int(db_ids[i]),
                    float(self._total[best[i]]),
                    int(nearest[i]),
                    float(nearest_sim[i]),
                    float(authors[i]),
                    tuple(float(c) for c in contrib[i]),
                ),
            )
            for i in range(len(best))
        ]


def rank_all(profile: Profile, parts: Sequence[tuple[IndexQuery, IntArray]]) -> Shortlist:
    """Score every candidate row over several indexes (see :func:`rank_many`)."""
    # Empty parts are left out: they have no channels to join, and must not void others.
    numbered = [(k, ix, rows) for k, (ix, rows) in enumerate(parts) if len(rows)]
    weights = profile.weights
    if profile.size == 0 or not numbered:
        return Shortlist([], [], np.zeros((0, len(CHANNELS)), np.float32), weights)
    use_dense = profile.pos_dense is not None and all(ix.has_dense for _, ix, _ in numbered)
    scored = [ix.channels(profile, rows, use_dense) for _, ix, rows in numbered]
    raw = np.vstack([s.raw() for s in scored])
    # A channel some part cannot score (items without author rows yet, say) is switched
    # off for all, rather than ranking that part's rows lower.
    raw[:, ~np.all(np.isfinite(raw), axis=0)] = np.nan
    return Shortlist(numbered, scored, standardize(raw), weights, use_dense)


def rank_many(
    profile: Profile, parts: Sequence[tuple[IndexQuery, IntArray]], limit: int
) -> list[tuple[int, Ranked]]:
    """The ``limit`` best rows over several indexes: ``(part number, ranked row)`` pairs.

    Channels are standardized over all candidates together, so papers and items compete
    on one scale.
    """
    if limit <= 0:
        return []
    return rank_all(profile, parts).take(limit)


def channel_lifted(ranked: Sequence[tuple[int, Ranked]], channel: str) -> npt.NDArray[np.bool_]:
    """For each ranked ``(part, row)``: did ``channel`` (its contribution) move it above a
    row that the other channels alone preferred (one shown below it, or one it kept out of
    the list)?

    Pass the model's best rows, more than are shown: a row lifted into the list passed
    one of those left out.  This is what makes the authors worth naming in a reason.
    """
    scores = np.array([r.score for _, r in ranked], dtype=np.float64)
    j = CHANNEL[channel]
    lift = np.array(
        [r.contributions[j] if r.contributions else 0.0 for _, r in ranked], dtype=np.float64
    )
    # What the other channels gave, summed from the contributions themselves: the score is
    # a float32 matrix product whose last bits depend on BLAS's summation order, so
    # ``score - lift`` of two rows with the same text could differ and, rounded, break
    # their tie either way.  The per-channel parts of equal inputs are equal, exactly.
    if all(r.contributions for _, r in ranked):
        parts_of = np.array([r.contributions for _, r in ranked], dtype=np.float64)
        without = np.round(parts_of.sum(axis=1) - parts_of[:, j], 5)
    else:
        without = np.round(scores - lift, 5)
    # Ties as the model breaks them: by part, then row (candidates' order in rank_all).
    parts = np.array([part for part, _ in ranked], dtype=np.int64)
    rows = np.array([r.row for _, r in ranked], dtype=np.int64)
    order = np.lexsort((rows, parts, -without))
    rank = np.empty(len(ranked), dtype=np.int64)
    rank[order] = np.arange(len(ranked))
    out: npt.NDArray[np.bool_] = passed(rank, scores) & (lift > 0)
    return out


def fuse_rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: ``sum 1 / (k + rank)`` over the rankings each key appears in.

    Keys are whatever identifies a hit (``"paper:2503.11677"``); the result is best first.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(dict.fromkeys(ranking), 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


__all__ = [
    "CHANNEL",
    "IndexQuery",
    "Ranked",
    "SharedTerm",
    "Shortlist",
    "channel_lifted",
    "fuse_rrf",
    "rank_all",
    "rank_many",
]
