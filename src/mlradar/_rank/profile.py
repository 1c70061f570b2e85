"""A user's profile from the rows of their feedback, and the cache of what training found.

:func:`profile_of` gathers the positives' and dismissals' rows from the indexes (papers
and items share one hashed space), a background sample from the first index, and hands
them to :func:`~mlradar._rank.blend.fit_profile`.  Training (the linear models and the
learned blend) is the one costly step of a recommendation, and it depends only on the
feedback: :class:`Trained` holds its result, and :func:`save_trained` /
:func:`load_trained` keep it in a file beside the index, so that a new process (every
CLI call) does not train again until the feedback changes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.blend import CorpusStats, Rows, fit_profile
from mlradar._rank.features import AUTHOR_FEATURES, MIN_DOCS_FOR_MIN_DF, normalize_author
from mlradar._rank.index_base import FloatArray, IntArray
from mlradar._rank.index_query import IndexQuery
from mlradar._rank.models import Profile, RankConfig, author_weights
from mlradar._rank.terms import term_column

#: Version of the cached training files; another version is trained again.
TRAINED_FORMAT = 1

Part = tuple[IndexQuery, IntArray, IntArray]
"""One index with the rows of the positives and of the dismissals in it."""


@dataclass(frozen=True, slots=True)
class Trained:
    """What training found for one user's feedback: linear models and channel weights."""

    lex_coef: FloatArray | None
    dense_coef: FloatArray | None
    lex_mask: FloatArray | None
    blend: FloatArray | None

    @classmethod
    def of(cls, profile: Profile) -> Trained:
        return cls(profile.lex_coef, profile.dense_coef, profile.lex_mask, profile.blend)


def _rows(part: Part, which: int, dense: bool, authors: bool) -> Rows | None:
    ix, pos, neg = part
    rows = pos if which == 1 else neg
    if not len(rows):
        return None
    vectors = ix.dense(rows) if dense else None
    return Rows(
        ix.lexical(rows),
        None if vectors is None else vectors.astype(np.float32),
        ix.authors(rows) if authors else None,
    )


def _stack(parts: Sequence[Rows | None], n_features: int) -> Rows:
    present = [p for p in parts if p is not None]
    if not present:
        return Rows(sp.csr_matrix((0, n_features), dtype=np.float32))
    return Rows.stack(present)


def profile_of(
    parts: Sequence[Part], config: RankConfig | None = None, trained: Trained | None = None
) -> Profile:
    """One profile from positives and negatives held in several indexes (papers, items).

    Positives keep the order given: ``Ranked.nearest`` indexes into their concatenation.
    With ``trained`` (a cached :class:`Trained` of the same feedback) nothing is trained.
    """
    cfg = config or (parts[0][0].config if parts else RankConfig())
    n_features = parts[0][0].encoder.config.n_features if parts else 1
    used = [p for p in parts if len(p[1]) or len(p[2])]
    with_dense = bool(used) and all(ix.has_dense for ix, _, _ in used)
    with_authors = (
        cfg.author_weight > 0 and bool(parts) and all(ix.has_authors for ix, _, _ in parts)
    )
    pos = _stack([_rows(p, 1, with_dense, with_authors) for p in parts], n_features)
    neg_parts = [_rows(p, 2, with_dense, with_authors) for p in parts]
    neg = _stack(neg_parts, n_features) if any(r is not None for r in neg_parts) else None
    counts = np.zeros(AUTHOR_FEATURES, dtype=np.int32)
    n_docs = 0
    if with_authors:
        for ix, _, _ in parts:
            adf = ix.author_doc_freq()
            counts += adf.counts
            n_docs += adf.n_docs
    home = parts[0][0] if parts else None
    df = home.doc_freq() if home is not None else None
    stats = CorpusStats(
        # As the IDF bounds: a small library's topic words are all "rare".
        df.counts if df is not None and df.n_docs >= MIN_DOCS_FOR_MIN_DF else None,
        counts if with_authors else None,
        n_docs,
    )
    if trained is not None:
        return _with_trained(pos, neg, stats, cfg, trained)
    background = Rows(sp.csr_matrix((0, n_features), dtype=np.float32))
    if home is not None and len(pos) and cfg.linear_weight > 0:
        bg = home.background(cfg.background, parts[0][1])
        if len(bg):
            vectors = home.dense(bg) if with_dense else None
            background = Rows(
                home.lexical(bg),
                None if vectors is None else vectors.astype(np.float32),
                home.authors(bg) if with_authors else None,
            )
    return fit_profile(pos, neg, background, stats, cfg)


def _with_trained(
    pos: Rows, neg: Rows | None, stats: CorpusStats, cfg: RankConfig, trained: Trained
) -> Profile:
    weights = None
    if pos.authors is not None and stats.author_df is not None:
        weights = author_weights(pos.authors, stats.author_df, stats.n_docs)
        if not np.any(weights > 0):
            weights = None
    has_neg = neg is not None and len(neg) > 0
    return Profile(
        pos_lexical=pos.lexical,
        neg_lexical=neg.lexical if has_neg and neg is not None else None,
        pos_dense=pos.dense,
        neg_dense=neg.dense if has_neg and neg is not None else None,
        config=cfg,
        author_weights=weights,
        lex_coef=trained.lex_coef,
        dense_coef=trained.dense_coef if pos.dense is not None else None,
        lex_mask=trained.lex_mask,
        blend=trained.blend,
    )


def save_trained(path: Path, trained: Trained) -> None:
    """Write ``trained`` to ``path`` atomically (a reader never sees half a file).

    The lexical model is stored sparse (its nonzero weights) and the column mask as bits:
    a few hundred kB instead of 8 MB of dense float32.
    """
    arrays: dict[str, npt.NDArray[np.generic]] = {}
    n = 0
    if trained.lex_coef is not None:
        nz = np.flatnonzero(trained.lex_coef)
        arrays["lex_idx"], arrays["lex_val"] = nz.astype(np.int32), trained.lex_coef[nz]
        n = len(trained.lex_coef)
    if trained.lex_mask is not None:
        arrays["mask_bits"] = np.packbits(trained.lex_mask > 0)
        n = len(trained.lex_mask)
    if trained.dense_coef is not None:
        arrays["dense_coef"] = trained.dense_coef
    if trained.blend is not None:
        arrays["blend"] = trained.blend
    header = {"format": TRAINED_FORMAT, "n_features": n, "present": sorted(arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        np.savez(fh, allow_pickle=False, **arrays)
    os.replace(tmp, path)


def load_trained(path: Path) -> Trained | None:
    """The :class:`Trained` saved at ``path``; None when absent, unreadable or stale."""
    try:
        with np.load(path) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != TRAINED_FORMAT:
                return None
            n = int(header["n_features"])
            lex_coef = lex_mask = None
            if "lex_idx" in data:
                lex_coef = np.zeros(n, dtype=np.float32)
                lex_coef[data["lex_idx"]] = data["lex_val"]
            if "mask_bits" in data:
                lex_mask = np.unpackbits(data["mask_bits"], count=n).astype(np.float32)
            dense = data["dense_coef"].astype(np.float32) if "dense_coef" in data else None
            blend = data["blend"].astype(np.float32) if "blend" in data else None
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    return Trained(lex_coef, dense, lex_mask, blend)


def author_counts(parts: Sequence[tuple[IndexQuery, IntArray]]) -> npt.NDArray[np.int64]:
    """Per hashed author: on how many of the given rows (positives, say) the name appears."""
    out = np.zeros(AUTHOR_FEATURES, dtype=np.int64)
    for ix, rows in parts:
        if len(rows) and ix.has_authors:
            out += np.bincount(ix.authors(rows).indices, minlength=AUTHOR_FEATURES)
    return out


def author_columns(names: Sequence[str]) -> npt.NDArray[np.int64]:
    """The hashed column of each name (-1 for a blank one), as
    :func:`~mlradar._rank.features.author_rows` hashes (without importing scikit-learn)."""
    out = np.full(len(names), -1, dtype=np.int64)
    for i, name in enumerate(names):
        if name.strip():
            out[i] = term_column(normalize_author(name), AUTHOR_FEATURES)
    return out


__all__ = [
    "Trained",
    "author_columns",
    "author_counts",
    "load_trained",
    "profile_of",
    "save_trained",
]
