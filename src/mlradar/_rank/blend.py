"""One user's model, fitted from their own feedback: channels, then the weights between them.

Fixed weights between the channels (:data:`~mlradar._rank.models.CHANNELS`) cannot suit
every user: one follows a few labs (authors matter), another a topic (the text does), a
third reads whatever comes with code.  :func:`fit_profile` therefore learns the blend per
user, by stacking:

1. the positives (tagged or liked) are split into folds (one per positive when there are
   few, at most :attr:`~mlradar._rank.models.RankConfig.blend_folds`), and so are the
   background sample and the dismissals;
2. for each fold, the channels are trained without it (nearest positives, the linear
   models against the rest of the background, author weights) and score the held-out
   positives, dismissals and background papers: scores of papers the channels did not
   see, as a new paper's will be;
3. each fold's channels are standardized over its held-out background, as a request's
   channels are standardized over its candidates (a random sample of the corpus looks
   like a window of new papers);
4. a logistic regression separates held-out positives (1) from background and dismissals
   (0), classes balanced, weights kept non-negative (a channel may be worth nothing, not
   less) and shrunk towards the fixed weights by an L2 prior worth
   :attr:`~mlradar._rank.models.RankConfig.blend_prior` positives: three positives move
   the weights a little, a hundred decide them.

Everything here is a pure function of feature rows; the callers (the product's index,
the evaluation) gather the rows.  Fitting trains ``folds + 1`` sets of linear models: it
is the costly step of a recommendation, which is why the result is cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.models import (
    Profile,
    RankConfig,
    author_weights,
    linear_mask,
    score_profile,
    standardize,
    with_linear,
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Below this many positives there is nothing to hold out: the fixed weights are used.
MIN_POSITIVES = 2


@dataclass(frozen=True, slots=True)
class Rows:
    """Feature rows of some papers in every representation the channels read."""

    lexical: sp.csr_matrix
    dense: FloatArray | None = None
    authors: sp.csr_matrix | None = None
    links: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.lexical.shape[0])

    def take(self, which: npt.ArrayLike) -> Rows:
        """The rows at ``which`` (indices or a boolean mask), in every representation."""
        idx = np.asarray(which)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return Rows(
            sp.csr_matrix(self.lexical[idx]),
            None if self.dense is None else self.dense[idx],
            None if self.authors is None else sp.csr_matrix(self.authors[idx]),
            None if self.links is None else self.links[idx],
        )

    @staticmethod
    def stack(parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` one after the other; a representation absent from one part
        is absent from the result."""
        if not parts:
            raise ValueError("nothing to stack")

        def dense_of(values: list[FloatArray | None]) -> FloatArray | None:
            if any(v is None for v in values):
                return None
            return np.concatenate([v for v in values if v is not None])

        authors = [p.authors for p in parts]
        return Rows(
            sp.csr_matrix(sp.vstack([p.lexical for p in parts])),
            dense_of([p.dense for p in parts]),
            None
            if any(a is None for a in authors)
            else sp.csr_matrix(sp.vstack([a for a in authors if a is not None])),
            dense_of([p.links for p in parts]),
        )


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """What the channels need to know of the whole corpus."""

    #: Documents per hashed term (the linear model's column filter); None: no filter
    #: (a small library, whose topic words would all look rare).
    doc_freq: npt.NDArray[np.int32] | None
    #: Papers per hashed author name, and how many papers that counts (for the names' IDF).
    author_df: npt.NDArray[np.int32] | None
    n_docs: int


def _channels(
    pos: Rows,
    neg: Rows | None,
    background: Rows,
    stats: CorpusStats,
    cfg: RankConfig,
    mask: FloatArray | None,
) -> Profile:
    """The channels of a profile (no blend): nearest positives, linear models, author weights."""
    weights = None
    if cfg.author_weight > 0 and pos.authors is not None and stats.author_df is not None:
        weights = author_weights(pos.authors, stats.author_df, stats.n_docs)
        if not np.any(weights > 0):
            weights = None
    has_neg = neg is not None and len(neg) > 0
    profile = Profile(
        pos_lexical=pos.lexical,
        neg_lexical=neg.lexical if has_neg and neg is not None else None,
        pos_dense=pos.dense,
        neg_dense=neg.dense if has_neg and neg is not None else None,
        config=cfg,
        author_weights=weights,
    )
    if cfg.linear_weight <= 0 or len(background) == 0 or len(pos) == 0:
        return profile
    bg_dense = background.dense if pos.dense is not None else None
    return with_linear(profile, background.lexical, bg_dense, mask=mask)


def fit_profile(
    pos: Rows, neg: Rows | None, background: Rows, stats: CorpusStats, cfg: RankConfig
) -> Profile:
    """The user's whole model: channels trained on every positive, and (when
    ``cfg.learn_blend``) the weights between them learned from held-out folds."""
    mask = linear_mask(stats.doc_freq, cfg)
    profile = _channels(pos, neg, background, stats, cfg, mask)
    if cfg.learn_blend and len(pos) >= MIN_POSITIVES and len(background) >= 2 * len(pos):
        profile = replace(profile, blend=fit_blend(pos, neg, background, stats, cfg, mask))
    return profile


def _folds(n: int, k: int, rng: np.random.Generator) -> IntArray:
    """A fold number for each of ``n`` rows, as balanced as ``n`` allows."""
    out: IntArray = (rng.permutation(n) % max(k, 1)).astype(np.int64)
    return out


def fit_blend(
    pos: Rows,
    neg: Rows | None,
    background: Rows,
    stats: CorpusStats,
    cfg: RankConfig,
    mask: FloatArray | None = None,
) -> FloatArray:
    """Weights of :data:`~mlradar._rank.models.CHANNELS` for this user (see the module)."""
    k = min(cfg.blend_folds, len(pos))
    # Seeded by the data's size: the same feedback gives the same model.
    rng = np.random.default_rng(len(pos) * 7919 + len(background))
    pos_fold = _folds(len(pos), k, rng)
    bg_fold = _folds(len(background), k, rng)
    neg_fold = _folds(len(neg), k, rng) if neg is not None else None
    x_parts, y_parts, w_parts = [], [], []
    n_pos = len(pos)
    for f in range(k):
        train_neg = None if neg is None or neg_fold is None else neg.take(neg_fold != f)
        profile = _channels(
            pos.take(pos_fold != f), train_neg, background.take(bg_fold != f), stats, cfg, mask
        )
        held = [pos.take(pos_fold == f), background.take(bg_fold == f)]
        if neg is not None and neg_fold is not None:
            held.append(neg.take(neg_fold == f))
        rows = Rows.stack(held)
        raw = score_profile(profile, rows.lexical, rows.dense, rows.authors, rows.links).raw()
        n_p, n_b = len(held[0]), len(held[1])
        x_parts.append(standardize(raw, reference=raw[n_p : n_p + n_b]))
        y_parts.append(np.r_[np.ones(n_p), np.zeros(len(rows) - n_p)])
        # Classes balanced: the positives weigh as much as the rest; a dismissal weighs as
        # much as a positive (it is as deliberate), the background sample shares the rest.
        bg_weight = n_pos / max(len(background), 1)
        w_parts.append(np.r_[np.ones(n_p), np.full(n_b, bg_weight), np.ones(len(rows) - n_p - n_b)])
    x = np.vstack(x_parts).astype(np.float64)
    y = np.concatenate(y_parts)
    w = np.concatenate(w_parts)
    present = np.any(x != 0, axis=0)
    return fit_weights(x, y, w, cfg.fixed_weights(), cfg.blend_prior, present)


def fit_weights(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    sample_weight: npt.NDArray[np.float64],
    prior: FloatArray,
    strength: float,
    free: npt.NDArray[np.bool_],
) -> FloatArray:
    """Non-negative logistic-regression weights with an L2 prior towards ``prior``.

    Minimizes ``sum_i w_i * logloss(y_i, x_i . beta + b) + strength/2 * |beta - prior|^2``
    over ``beta >= 0`` (channels not ``free`` stay at their prior) and a free intercept.
    scikit-learn's logistic regression has neither bounds nor a prior mean, so this is
    the 20 lines of its objective handed to scipy's L-BFGS-B.
    """
    from scipy.optimize import minimize

    beta0 = np.asarray(prior, dtype=np.float64)

    def objective(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        beta, b = theta[:-1], theta[-1]
        margin = x @ beta + b
        loss = np.logaddexp(0.0, margin) - y * margin
        residual = sample_weight * (0.5 * (1.0 + np.tanh(0.5 * margin)) - y)  # sigmoid - y
        diff = beta - beta0
        value = float(sample_weight @ loss) + 0.5 * strength * float(diff @ diff)
        grad = np.r_[x.T @ residual + strength * diff, residual.sum()]
        return value, grad

    bounds = [(0.0, None) if f else (p, p) for f, p in zip(free, beta0, strict=True)]
    start = np.r_[beta0, 0.0]
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)])
    out: FloatArray = np.asarray(result.x[:-1], dtype=np.float32)
    return out


__all__ = ["CorpusStats", "Rows", "fit_blend", "fit_profile", "fit_weights"]
