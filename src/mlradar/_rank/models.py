"""Rankers: the two baselines, and ours.

Everything here is a pure function of matrices: rows of features for the user's
positives, explicit negatives and the candidates.  Callers (the evaluation, the
library facade) gather those rows; nothing here knows about storage.

* :func:`sanity_svm_scores` is arxiv-sanity-lite's recommender, faithfully: a
  LinearSVC (C=0.01, balanced class weights, tol 1e-6) trained on every paper, the
  tagged ones positive and all others negative, retrained on each request.
* :func:`bm25_scores` is Okapi BM25 with the positives' text as one long query.
* :class:`Profile` / :func:`score_profile` are ours: channels (nearest-tagged-paper
  similarity, a linear model against a background sample, both in lexical and, when
  embeddings exist, in dense space; author affinity; evidence such as code links), each
  standardized over the request's candidates and added with the profile's weights.  The
  weights are learned per user (:mod:`mlradar._rank.blend`) or fixed (:class:`RankConfig`).

scikit-learn is imported only where a model is trained (seconds of start-up): scoring
with a trained profile needs numpy and scipy alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Dense = npt.NDArray[np.float32] | npt.NDArray[np.float16]


# -- arxiv-sanity-lite, faithfully ----------------------------------------------------------


def sanity_svm_scores(
    features: sp.csr_matrix, positives: IntArray, candidates: IntArray
) -> FloatArray:
    """arxiv-sanity-lite's ``svm_rank``: fit on all rows, score the candidate rows."""
    from sklearn.svm import LinearSVC  # seconds to import: only where a model is trained

    y = np.zeros(features.shape[0], dtype=np.float32)
    y[positives] = 1.0
    clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
    clf.fit(features, y)
    return np.asarray(clf.decision_function(features[candidates]), dtype=np.float32)


# -- BM25 ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bm25Stats:
    """Corpus statistics BM25 needs: per-term IDF and the mean document length."""

    idf: FloatArray
    avg_len: float

    @classmethod
    def of(cls, counts: sp.csr_matrix) -> Bm25Stats:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        return cls(idf, float(counts.sum()) / max(n, 1))


def bm25_scores(
    candidates: sp.csr_matrix,
    query_counts: FloatArray,
    stats: Bm25Stats,
    *,
    k1: float = 1.2,
    b: float = 0.75,
    k3: float = 8.0,
) -> FloatArray:
    """Okapi BM25 of each candidate row (raw term counts) for a weighted query.

    ``query_counts`` holds the query's term counts; a long query (all the positives'
    text) gets Robertson's k3 saturation so that one repeated word cannot dominate.
    """
    counts = sp.csr_matrix(candidates, dtype=np.float32, copy=True)
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    norm = k1 * (1.0 - b + b * lengths / max(stats.avg_len, 1e-9))
    row_norm = np.repeat(norm, np.diff(counts.indptr))
    counts.data = counts.data * (k1 + 1.0) / (counts.data + row_norm)
    q = np.asarray(query_counts, dtype=np.float32).ravel()
    q_weight = stats.idf * q * (k3 + 1.0) / (k3 + q)
    return np.asarray(counts @ q_weight, dtype=np.float32).ravel()


# -- ours --------------------------------------------------------------------------------------

#: What an author on a single positive is worth, relative to ``log(count)`` for one on
#: several (see :func:`author_weights`).  Chosen on development tasks (seed 1 of the
#: evaluation): enough to break ties among on-topic papers, too little to lift off-topic ones.
SINGLE_AUTHOR_CREDIT = 0.1

#: The channels a score is made of, in the order of every channel matrix and weight vector.
CHANNELS: tuple[str, ...] = (
    "lexical",  # nearest tagged papers and their centroid, TF-IDF
    "lexical_linear",  # a linear SVM: positives against a background sample, TF-IDF
    "dense",  # the same two on embeddings (with the semantic extra)
    "dense_linear",
    "authors",  # affinity with the authors of the positives
    "team",  # log(1 + number of authors): some readers follow large collaborations
    "links",  # the paper links code or a project page (its comments say so)
)
#: Channels added as they are, not standardized: a match is evidence whose worth does
#: not depend on how many other candidates happen to match (z-scores of a mostly-zero
#: channel would make one match count more on a day with fewer matches).
RAW_CHANNELS = frozenset({"authors", "links"})
_RAW = np.array([c in RAW_CHANNELS for c in CHANNELS])

AuthorNorm = Literal["sum", "mean", "top", "sqrt"]


@dataclass(frozen=True, slots=True)
class RankConfig:
    """Weights of our blend; the defaults are the ones the evaluation chose (see docs)."""

    k: int = 3
    centroid_weight: float = 0.5
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    negative_weight: float = 0.5
    #: Weight of the discriminative channel (a linear SVM: positives against a background
    #: sample) relative to the similarity channel, in each feature space.  0 turns it off.
    linear_weight: float = 2.0
    linear_c: float = 0.1
    #: The linear model reads only terms in at least this many papers: rare terms let it
    #: memorize its few positives instead of learning the topic (the kNN channel keeps them).
    linear_min_df: int = 20
    #: Background papers the linear model sees as negatives (a seeded random sample).
    background: int = 5000
    #: Weight of author affinity: candidates by authors of the positives.  Names are
    #: weighted by rarity, so "Yang Liu" counts for little and a rare name for a lot.
    #: The affinity is added unscaled: about 10 for a rare name on two positives, next to
    #: z-scored text channels, so a followed author's paper reaches the top of the list.
    author_weight: float = 2.0
    #: How a candidate's authors' weights combine (see :func:`author_affinity`): its
    #: ``author_top`` strongest by default, so that a long author list is no advantage
    #: in itself (top 3 was chosen on the dev split against top 2 and 5, mean and sqrt).
    author_norm: AuthorNorm = "top"
    author_top: int = 3
    #: Weights of the team-size and the code-or-project-link evidence (0: off unless the
    #: learned blend finds the user's positives lean that way).
    team_weight: float = 0.0
    links_weight: float = 0.0
    #: Learn the channel weights from the user's own positives (:mod:`mlradar._rank.blend`),
    #: with the weights above as the prior they are shrunk towards.
    learn_blend: bool = True
    #: Strength of that prior (L2 towards the fixed weights), in positives' worth: with few
    #: positives the fixed weights dominate, with many the user's own data does.  Chosen
    #: on the dev split (3 against 1, 10 and 30; see docs/benchmarks.md).
    blend_prior: float = 3.0
    #: Held-out folds of the positives the blend is fitted from (at most one per positive).
    blend_folds: int = 5

    def fixed_weights(self) -> FloatArray:
        """The weight of each of :data:`CHANNELS` when nothing is learned."""
        lex, dense, lin = self.lexical_weight, self.dense_weight, self.linear_weight
        return np.array(
            [
                lex,
                lex * lin,
                dense,
                dense * lin,
                self.author_weight,
                self.team_weight,
                self.links_weight,
            ],
            dtype=np.float32,
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """What we learned from one user's feedback: their positives' and negatives' rows."""

    pos_lexical: sp.csr_matrix
    neg_lexical: sp.csr_matrix | None = None
    pos_dense: FloatArray | None = None
    neg_dense: FloatArray | None = None
    config: RankConfig = field(default_factory=RankConfig)
    #: Weights of the linear models (see :func:`with_linear`), when trained.
    lex_coef: FloatArray | None = None
    dense_coef: FloatArray | None = None
    #: The columns the lexical linear model reads (1) and ignores (0).
    lex_mask: FloatArray | None = None
    #: Per hashed author: how much a candidate by that author gains (see :func:`author_weights`).
    author_weights: FloatArray | None = None
    #: Learned weight of each of :data:`CHANNELS` (None: the config's fixed weights).
    blend: FloatArray | None = None

    @property
    def size(self) -> int:
        return int(self.pos_lexical.shape[0])

    @property
    def weights(self) -> FloatArray:
        """The weight of each of :data:`CHANNELS` this profile ranks with."""
        return self.blend if self.blend is not None else self.config.fixed_weights()

    @property
    def lex_centroid(self) -> FloatArray:
        """The positives' L2-normalized mean TF-IDF row (dense, one value per feature)."""
        return _centroid_sparse(self.pos_lexical)


@dataclass(frozen=True, slots=True)
class Scores:
    """Scores of candidates, with what explains each: the nearest positive and its similarity."""

    score: FloatArray
    nearest: IntArray
    """Index into the profile's positives of each candidate's most similar positive."""
    nearest_sim: FloatArray
    lexical: FloatArray
    dense: FloatArray | None
    linear: FloatArray | None = None
    dense_linear: FloatArray | None = None
    authors: FloatArray | None = None
    links: FloatArray | None = None
    team: FloatArray | None = None

    def raw(self) -> FloatArray:
        """The channels as a ``(candidates, CHANNELS)`` matrix, NaN for an absent channel."""
        return raw_channels(
            self.lexical,
            self.linear,
            self.dense,
            self.dense_linear,
            self.authors,
            self.team,
            self.links,
        )


def raw_channels(*columns: FloatArray | None) -> FloatArray:
    """Channel columns in :data:`CHANNELS` order (None: absent) as one NaN-padded matrix."""
    n = next((len(c) for c in columns if c is not None), 0)
    out = np.full((n, len(CHANNELS)), np.nan, dtype=np.float32)
    for j, col in enumerate(columns):
        if col is not None:
            out[:, j] = col
    return out


def channel_stats(raw: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per channel ``(mean, std)`` over rows: what :func:`standardize` centres and divides by
    (0 and 1 for an absent channel or no rows)."""
    present = np.isfinite(raw)
    count = present.sum(axis=0)
    values = np.where(present, raw, 0.0).astype(np.float64)
    mean = values.sum(axis=0) / np.maximum(count, 1)
    var = (np.where(present, raw - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
    std = np.sqrt(var)
    std[(std <= 1e-12) | (count == 0)] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def standardize(raw: FloatArray, reference: FloatArray | None = None) -> FloatArray:
    """Z-scores of the standardized channels over ``reference`` rows (default: ``raw``
    itself, the request's candidates); :data:`RAW_CHANNELS` stay as they are, absent
    channels become 0.  Per-request z-scores make lexical and dense similarities (different
    scales) addable."""
    mean, std = channel_stats(raw if reference is None else reference)
    out = np.where(_RAW, raw, (raw - mean) / std)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def blend_matrix(raw: FloatArray, weights: FloatArray) -> FloatArray:
    """The total score of each row: its standardized channels times the weights.

    Call it on all candidates at once: statistics of a subset are not comparable.
    """
    if len(raw) == 0:
        return np.zeros(0, dtype=np.float32)
    out: FloatArray = (standardize(raw) @ np.asarray(weights, dtype=np.float32)).astype(np.float32)
    return out


def contributions(raw: FloatArray, weights: FloatArray) -> FloatArray:
    """What each channel added to each row's score (``(rows, CHANNELS)``; sums to it)."""
    return (standardize(raw) * np.asarray(weights, dtype=np.float32)).astype(np.float32)


def background_sample(n_rows: int, size: int, exclude: IntArray) -> IntArray:
    """A fixed random sample of rows for the linear model's negatives, minus ``exclude``.

    Seeded by the corpus size: the same corpus gives the same sample, so a trained model
    is reproducible (and cacheable) until papers arrive.
    """
    if n_rows == 0 or size <= 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(n_rows)
    sample = np.sort(rng.choice(n_rows, size=min(size, n_rows), replace=False))
    return np.setdiff1d(sample, exclude).astype(np.int64)


def _fit_linear(
    positives: sp.csr_matrix | FloatArray, negatives: sp.csr_matrix | FloatArray, c: float
) -> FloatArray | None:
    from sklearn.svm import LinearSVC  # seconds to import: only where a model is trained

    n_pos, n_neg = positives.shape[0], negatives.shape[0]
    if n_pos == 0 or n_neg == 0:
        return None
    if sp.issparse(positives):
        x = sp.vstack([positives, negatives]).tocsr()
    else:
        x = np.vstack([positives, negatives])
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
    clf = LinearSVC(C=c, class_weight="balanced", tol=1e-4, max_iter=2000)
    clf.fit(x, y)
    return np.asarray(clf.coef_, dtype=np.float32).ravel()


def linear_mask(doc_freq: npt.NDArray[np.int32] | None, cfg: RankConfig) -> FloatArray | None:
    """The columns the lexical linear model reads: terms in at least ``linear_min_df`` papers."""
    if doc_freq is None or cfg.linear_min_df <= 1:
        return None
    return (doc_freq >= cfg.linear_min_df).astype(np.float32)


def with_linear(
    profile: Profile,
    background_lexical: sp.csr_matrix,
    background_dense: FloatArray | None = None,
    doc_freq: npt.NDArray[np.int32] | None = None,
    mask: FloatArray | None = None,
) -> Profile:
    """The profile plus linear models: positives against background rows and negatives.

    arxiv-sanity-lite trains its SVM against every paper on each request; a few thousand
    random papers tell a topic from the rest almost as well, in a fraction of the time.
    The caller keeps positives out of the background.  Explicit negatives join it.
    ``mask`` (else derived from ``doc_freq``) restricts the lexical model's columns.
    """
    cfg = profile.config
    if cfg.linear_weight <= 0 or profile.size == 0:
        return profile
    neg_lex = background_lexical
    if profile.neg_lexical is not None and profile.neg_lexical.shape[0]:
        neg_lex = sp.vstack([background_lexical, profile.neg_lexical]).tocsr()
    pos_lex = profile.pos_lexical
    if mask is None:
        mask = linear_mask(doc_freq, cfg)
    if mask is not None:
        pos_lex, neg_lex = _masked(pos_lex, mask), _masked(neg_lex, mask)
    lex_coef = _fit_linear(pos_lex, neg_lex, cfg.linear_c)
    dense_coef = None
    if profile.pos_dense is not None and background_dense is not None:
        neg_dense = np.asarray(background_dense, dtype=np.float32)
        if profile.neg_dense is not None and len(profile.neg_dense):
            neg_dense = np.vstack([neg_dense, profile.neg_dense])
        dense_coef = _fit_linear(profile.pos_dense, neg_dense, cfg.linear_c)
    return replace(profile, lex_coef=lex_coef, dense_coef=dense_coef, lex_mask=mask)


def author_weights(
    pos_authors: sp.csr_matrix,
    author_df: npt.NDArray[np.int32],
    n_docs: int,
    single_credit: float = SINGLE_AUTHOR_CREDIT,
) -> FloatArray:
    """What each author is worth to a user whose positives have the author rows ``pos_authors``.

    An author on several of the positives is someone the user follows: worth ``log(count)``
    plus a little.  An author on one positive is weak evidence (one paper is often tagged
    for its topic, not its authors): worth only ``single_credit``.  Either is multiplied by
    the name's IDF over the corpus, so a common name ("Yang Liu") is worth little.
    """
    counts = np.bincount(pos_authors.indices, minlength=pos_authors.shape[1]).astype(np.float32)
    idf = np.maximum(np.log((1.0 + n_docs) / (1.0 + author_df.astype(np.float32))), 0.0)
    worth = np.where(counts > 0, np.log(np.maximum(counts, 1.0)) + single_credit, 0.0)
    out: FloatArray = (worth * idf).astype(np.float32)
    return out


def author_affinity(
    cand_authors: sp.csr_matrix, weights: FloatArray, norm: AuthorNorm = "sum", top: int = 2
) -> FloatArray:
    """Each candidate's affinity: what its authors are worth to the user, combined by ``norm``.

    ``sum`` adds every author's worth, so a paper with a long author list collects more
    matches whatever its subject; ``mean`` divides by the number of authors; ``sqrt`` by
    its square root; ``top`` adds only the ``top`` strongest (a paper by one followed author
    and twenty others scores as one by that author alone, and twenty weak matches count as
    ``top`` of them).
    """
    rows = sp.csr_matrix(cand_authors)
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    values = np.asarray(weights, dtype=np.float32)[rows.indices]
    lengths = np.diff(rows.indptr)
    row_of = np.repeat(np.arange(n), lengths)
    if norm == "top":
        # Per row, its values in descending order; keep the first ``top`` of each row.
        order = np.lexsort((-values, row_of))
        rank = np.arange(len(order)) - rows.indptr[row_of[order]]
        keep = order[rank < top]
        return np.bincount(row_of[keep], weights=values[keep], minlength=n).astype(np.float32)
    total = np.bincount(row_of, weights=values, minlength=n)
    if norm == "mean":
        total = total / np.maximum(lengths, 1)
    elif norm == "sqrt":
        total = total / np.sqrt(np.maximum(lengths, 1))
    return total.astype(np.float32)


def _masked_norms(rows: sp.csr_matrix, mask: FloatArray) -> FloatArray:
    squared = rows.multiply(rows).tocsr()
    norms = np.sqrt(np.asarray(squared @ mask, dtype=np.float32).ravel())
    norms[norms == 0] = 1.0
    return norms


def _masked(rows: sp.csr_matrix, mask: FloatArray) -> sp.csr_matrix:
    """Rows restricted to the masked-in columns and L2-normalized again."""
    kept = sp.csr_matrix(rows @ sp.diags(mask))
    return sp.csr_matrix(sp.diags(1.0 / _masked_norms(rows, mask)) @ kept)


def _knn_channel(sims: FloatArray, k: int, centroid: FloatArray, weight: float) -> FloatArray:
    kk = min(k, sims.shape[1])
    top = -np.partition(-sims, kk - 1, axis=1)[:, :kk] if sims.shape[1] > kk else sims
    out: FloatArray = (top.mean(axis=1) + weight * centroid).astype(np.float32)
    return out


def _sparse_sims(cand: sp.csr_matrix, rows: sp.csr_matrix) -> FloatArray:
    return np.asarray((cand @ rows.T).toarray(), dtype=np.float32)


def _dense_sims(cand: Dense, rows: Dense) -> FloatArray:
    out: FloatArray = np.asarray(cand, dtype=np.float32) @ np.asarray(rows, dtype=np.float32).T
    return out


def _unit(vector: npt.NDArray[np.floating]) -> FloatArray:
    norm = float(np.linalg.norm(vector))
    out: FloatArray = np.asarray(vector / norm if norm > 0 else vector, dtype=np.float32)
    return out


def _centroid_sparse(rows: sp.csr_matrix) -> FloatArray:
    return _unit(np.asarray(rows.mean(axis=0), dtype=np.float32).ravel())


def _centroid_dense(rows: Dense) -> FloatArray:
    return _unit(np.asarray(rows, dtype=np.float32).mean(axis=0))


def blend_channels(
    lexical: FloatArray,
    dense: FloatArray | None,
    cfg: RankConfig,
    linear: FloatArray | None = None,
    dense_linear: FloatArray | None = None,
    authors: FloatArray | None = None,
) -> FloatArray:
    """Standardize each channel over the candidates, then add them with the config's weights.

    Call it on all candidates at once: statistics of a subset are not comparable.
    """
    raw = raw_channels(lexical, linear, dense, dense_linear, authors, None, None)
    return blend_matrix(raw, cfg.fixed_weights())


def score_profile(
    profile: Profile,
    cand_lexical: sp.csr_matrix,
    cand_dense: Dense | None = None,
    cand_authors: sp.csr_matrix | None = None,
    cand_links: FloatArray | None = None,
) -> Scores:
    """Score candidate rows against a profile (higher is better).

    ``cand_authors`` (the candidates' author rows) enables author affinity when the
    profile has author weights; ``cand_links`` (1 where a candidate links code or a
    project page) the links evidence.
    """
    cfg = profile.config
    n = cand_lexical.shape[0]
    lex_sims = _sparse_sims(cand_lexical, profile.pos_lexical)
    lex_cent = np.asarray(cand_lexical @ profile.lex_centroid, dtype=np.float32)
    lexical = _knn_channel(lex_sims, cfg.k, lex_cent, cfg.centroid_weight)
    if profile.neg_lexical is not None and profile.neg_lexical.shape[0]:
        lexical -= cfg.negative_weight * _sparse_sims(cand_lexical, profile.neg_lexical).max(axis=1)
    nearest_sims = lex_sims
    dense: FloatArray | None = None
    if cand_dense is not None and profile.pos_dense is not None and cfg.dense_weight > 0:
        d_sims = _dense_sims(cand_dense, profile.pos_dense)
        d_cent = np.asarray(cand_dense, dtype=np.float32) @ _centroid_dense(profile.pos_dense)
        dense = _knn_channel(d_sims, cfg.k, d_cent, cfg.centroid_weight)
        if profile.neg_dense is not None and len(profile.neg_dense):
            dense -= cfg.negative_weight * _dense_sims(cand_dense, profile.neg_dense).max(axis=1)
        nearest_sims = d_sims
    linear = None
    if profile.lex_coef is not None:
        linear = np.asarray(cand_lexical @ profile.lex_coef, dtype=np.float32).ravel()
        if profile.lex_mask is not None:
            # As in training: the candidate restricted to the model's columns, renormalized.
            linear /= _masked_norms(cand_lexical, profile.lex_mask)
    dense_linear = None
    if dense is not None and cand_dense is not None and profile.dense_coef is not None:
        dense_linear = np.asarray(cand_dense, dtype=np.float32) @ profile.dense_coef
    authors = None
    if cand_authors is not None and profile.author_weights is not None:
        authors = author_affinity(
            cand_authors, profile.author_weights, cfg.author_norm, cfg.author_top
        )
    team = None
    if cand_authors is not None:
        team = np.log1p(np.diff(sp.csr_matrix(cand_authors).indptr)).astype(np.float32)
    links = None if cand_links is None else np.asarray(cand_links, dtype=np.float32)
    raw = raw_channels(lexical, linear, dense, dense_linear, authors, team, links)
    total = blend_matrix(raw, profile.weights)
    if n == 0 or nearest_sims.shape[1] == 0:
        nearest = np.zeros(n, dtype=np.int64)
        near_sim = np.zeros(n, np.float32)
    else:
        nearest = nearest_sims.argmax(axis=1).astype(np.int64)
        near_sim = nearest_sims[np.arange(n), nearest].astype(np.float32)
    return Scores(
        total, nearest, near_sim, lexical, dense, linear, dense_linear, authors, links, team
    )


def contributing_terms(
    candidate: sp.csr_matrix, profile: Profile, k: int = 5
) -> tuple[tuple[int, float], ...]:
    """Feature indices that add most to one candidate's lexical similarity to the profile.

    The contribution of a term is its weight in the candidate times its weight in the
    positives' centroid: the terms the candidate shares with what the user tagged.
    """
    row = sp.csr_matrix(candidate)
    if row.nnz == 0 or profile.size == 0:
        return ()
    centroid = profile.lex_centroid
    contrib = row.data * centroid[row.indices]
    order = np.argsort(-contrib)[:k]
    return tuple((int(row.indices[i]), float(contrib[i])) for i in order if contrib[i] > 0)
