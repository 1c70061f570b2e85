"""Rankers: the two baselines, and ours.

Everything here is a pure function of matrices: rows of features for the user's
positives, explicit negatives and the candidates.  Callers (the evaluation, the
library facade) gather those rows; nothing here knows about storage.

* :func:`sanity_svm_scores` is arxiv-sanity-lite's recommender, faithfully: a
  LinearSVC (C=0.01, balanced class weights, tol 1e-6) trained on every paper, the
  tagged ones positive and all others negative, retrained on each request.
* :func:`bm25_scores` is Okapi BM25 with the positives' text as one long query.
* :class:`Profile` / :func:`score_profile` are ours: nearest-tagged-paper similarity
  (the mean of the k best cosine similarities to the positives) plus the centroid
  similarity, in lexical space and, when embeddings exist, in dense space, blended
  after per-request standardization; explicit negatives push down what resembles them.
  The profile is the whole model: it costs one gather to build and caches trivially.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Dense = npt.NDArray[np.float32] | npt.NDArray[np.float16]


# -- arxiv-sanity-lite, faithfully ----------------------------------------------------------


def sanity_svm_scores(
    features: sp.csr_matrix, positives: IntArray, candidates: IntArray
) -> FloatArray:
    """arxiv-sanity-lite's ``svm_rank``: fit on all rows, score the candidate rows."""
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

    @property
    def size(self) -> int:
        return int(self.pos_lexical.shape[0])


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


def with_linear(
    profile: Profile,
    background_lexical: sp.csr_matrix,
    background_dense: FloatArray | None = None,
    doc_freq: npt.NDArray[np.int32] | None = None,
) -> Profile:
    """The profile plus linear models: positives against background rows and negatives.

    arxiv-sanity-lite trains its SVM against every paper on each request; a few thousand
    random papers tell a topic from the rest almost as well, in a fraction of the time.
    The caller keeps positives out of the background.  Explicit negatives join it.
    """
    cfg = profile.config
    if cfg.linear_weight <= 0 or profile.size == 0:
        return profile
    neg_lex = background_lexical
    if profile.neg_lexical is not None and profile.neg_lexical.shape[0]:
        neg_lex = sp.vstack([background_lexical, profile.neg_lexical]).tocsr()
    pos_lex = profile.pos_lexical
    mask = None
    if doc_freq is not None and cfg.linear_min_df > 1:
        mask = (doc_freq >= cfg.linear_min_df).astype(np.float32)
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


def author_affinity(cand_authors: sp.csr_matrix, weights: FloatArray) -> FloatArray:
    """Each candidate's affinity: the sum of what its authors are worth to the user."""
    return np.asarray(cand_authors @ weights, dtype=np.float32).ravel()


def _masked_norms(rows: sp.csr_matrix, mask: FloatArray) -> FloatArray:
    squared = rows.multiply(rows).tocsr()
    norms = np.sqrt(np.asarray(squared @ mask, dtype=np.float32).ravel())
    norms[norms == 0] = 1.0
    return norms


def _masked(rows: sp.csr_matrix, mask: FloatArray) -> sp.csr_matrix:
    """Rows restricted to the masked-in columns and L2-normalized again."""
    kept = sp.csr_matrix(rows @ sp.diags(mask))
    return sp.csr_matrix(sp.diags(1.0 / _masked_norms(rows, mask)) @ kept)


def _standardize(x: FloatArray) -> FloatArray:
    # Per-request z-scores make lexical and dense similarities (different scales) addable.
    std = float(x.std())
    centered = x - x.mean()
    out: FloatArray = (centered / std if std > 1e-12 else centered).astype(np.float32)
    return out


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


def _centroid_sparse(rows: sp.csr_matrix) -> FloatArray:
    mean = np.asarray(rows.mean(axis=0), dtype=np.float32)
    return np.asarray(normalize(mean), dtype=np.float32).ravel()


def _centroid_dense(rows: Dense) -> FloatArray:
    mean = np.asarray(rows, dtype=np.float32).mean(axis=0, keepdims=True)
    return np.asarray(normalize(mean), dtype=np.float32).ravel()


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
    if len(lexical) == 0:
        return lexical
    lex = _standardize(lexical)
    if linear is not None:
        lex = lex + cfg.linear_weight * _standardize(linear)
    total = cfg.lexical_weight * lex
    if dense is not None:
        den = _standardize(dense)
        if dense_linear is not None:
            den = den + cfg.linear_weight * _standardize(dense_linear)
        total = total + cfg.dense_weight * den
    if authors is not None and cfg.author_weight > 0:
        # Not standardized: a match is evidence whose worth (the names' rarity) does not
        # depend on how many other candidates happen to match; z-scores of a mostly-zero
        # channel would make one match count more on a day with fewer matches.
        total = total + cfg.author_weight * authors
    return total.astype(np.float32)


def score_profile(
    profile: Profile,
    cand_lexical: sp.csr_matrix,
    cand_dense: Dense | None = None,
    cand_authors: sp.csr_matrix | None = None,
) -> Scores:
    """Score candidate rows against a profile (higher is better).

    ``cand_authors`` (the candidates' author rows) enables author affinity when the
    profile has author weights.
    """
    cfg = profile.config
    n = cand_lexical.shape[0]
    lex_sims = _sparse_sims(cand_lexical, profile.pos_lexical)
    lex_cent = np.asarray(cand_lexical @ _centroid_sparse(profile.pos_lexical), dtype=np.float32)
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
        authors = author_affinity(cand_authors, profile.author_weights)
    total = blend_channels(lexical, dense, cfg, linear, dense_linear, authors)
    if n == 0 or nearest_sims.shape[1] == 0:
        nearest = np.zeros(n, dtype=np.int64)
        near_sim = np.zeros(n, np.float32)
    else:
        nearest = nearest_sims.argmax(axis=1).astype(np.int64)
        near_sim = nearest_sims[np.arange(n), nearest].astype(np.float32)
    return Scores(total, nearest, near_sim, lexical, dense, linear, dense_linear, authors)


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
    centroid = _centroid_sparse(profile.pos_lexical)
    contrib = row.data * centroid[row.indices]
    order = np.argsort(-contrib)[:k]
    return tuple((int(row.indices[i]), float(contrib[i])) for i in order if contrib[i] > 0)
