"""The ranking index of one database: a feature store kept in step with it, and queries.

:class:`RankIndex` turns batches of ``(id, title, text, day)`` (read by the storage
layer) into stored features, incrementally, and answers the ranking questions on top:
candidates in a window, profiles from feedback, scores with reasons, and dense nearest
neighbours for search.  No SQL here: the caller feeds it rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher

from mlradar._rank.ann import MIN_ROWS, IvfIndex
from mlradar._rank.corpus import day_number
from mlradar._rank.embed import Embedder
from mlradar._rank.features import MIN_DOCS_FOR_MIN_DF, DocFreq, LexicalEncoder
from mlradar._rank.models import (
    Profile,
    RankConfig,
    Scores,
    background_sample,
    blend_channels,
    contributing_terms,
    score_profile,
    with_linear,
)
from mlradar._rank.store import FeatureStore

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
TextRow = tuple[int, str, str, date | None]


def doc_text(title: str, body: str) -> str:
    """The text features are computed from: the same shape as the evaluation's."""
    return f"{title}. {body}"


@dataclass(frozen=True, slots=True)
class Ranked:
    """One ranked row: store row, database id, score, nearest positive (index), its similarity."""

    row: int
    db_id: int
    score: float
    nearest: int
    nearest_sim: float


class RankIndex:
    """Features of one kind of record (papers or items), stored beside the database."""

    #: From this many embedded rows on, nearest-neighbour queries probe an IVF index.
    ann_min_rows = MIN_ROWS

    def __init__(
        self,
        path: Path,
        model: str | None = None,
        embedder: Callable[[], Embedder | None] | Embedder | None = None,
        config: RankConfig | None = None,
    ) -> None:
        """``model`` names the embedding model; ``embedder`` is it, or loads it on first use."""
        self.encoder = LexicalEncoder()
        self.config = config or RankConfig()
        self._embedder_source = embedder
        self._embedder: Embedder | None = None
        self.store = FeatureStore.open(path, self.encoder.config.n_features, model)
        self.ann = IvfIndex(path)
        if self.ann.assigned > self.store.meta.dense_rows:
            # The embeddings were reset (another model): the clusters mean nothing now.
            (path / "ivf.json").unlink(missing_ok=True)
            self.ann = IvfIndex(path)
        self._df: DocFreq | None = None
        self._idf: npt.NDArray[np.float32] | None = None
        self._term_hasher = FeatureHasher(
            n_features=self.encoder.config.n_features, input_type="string", alternate_sign=False
        )

    @property
    def embedder(self) -> Embedder | None:
        """The embedding model, loaded on first use (importing it takes seconds)."""
        if self._embedder is None and self.store.meta.model is not None:
            source = self._embedder_source
            self._embedder = source() if callable(source) else source
            self._embedder_source = None
        return self._embedder

    # -- keeping in step -----------------------------------------------------------------------

    @property
    def last_id(self) -> int:
        return self.store.meta.last_id

    def add(self, batch: Sequence[TextRow]) -> int:
        """Add rows with ids above :attr:`last_id`, ascending; returns how many were added.

        New rows are embedded too when every earlier row is (embedding is opt-in: a first
        embedding of a large corpus is a long job run by :meth:`embed_missing`).
        """
        rows = [r for r in batch if r[0] > self.last_id]
        if not rows:
            return 0
        texts = [doc_text(title, body) for _, title, body, _ in rows]
        tf = self.encoder.term_frequencies(texts)
        df = self.doc_freq().add(tf)
        fallback = int(self.store.days[-1]) if self.store.meta.rows else 0
        days = np.array(
            [day_number(d) if d is not None else fallback for *_, d in rows], dtype=np.int32
        )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        dense_complete = self.has_dense
        self.store.append(ids, days, tf, df)
        self._df, self._idf = df, None
        embedder = self.embedder if dense_complete else None
        if embedder is not None:
            self.store.append_dense(embedder.encode(texts))
            self.update_ann()
        return len(rows)

    def update_ann(self) -> None:
        """Train the IVF index when due, and assign every embedded row not assigned yet."""
        m = self.store.meta
        if m.dim == 0 or m.dense_rows < self.ann_min_rows:
            return
        if self.ann.needs_training(m.dense_rows, self.ann_min_rows):
            self.ann.train(self.store.iter_dense(), m.dense_rows)
        for start, block in self.store.iter_dense():
            end = start + len(block)
            if end <= self.ann.assigned:
                continue
            self.ann.assign(block[self.ann.assigned - start :])

    def sync(self, batches: Iterable[Sequence[TextRow]]) -> int:
        return sum(self.add(batch) for batch in batches)

    @property
    def first_unembedded_id(self) -> int | None:
        """The database id of the first row without an embedding, if any."""
        m = self.store.meta
        if m.model is None or m.dense_rows >= m.rows:
            return None
        return int(self.store.ids[m.dense_rows])

    def embed_missing(
        self,
        batches: Iterable[Sequence[TextRow]],
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Embed the rows that have no embedding yet, from text batches starting at them.

        Rows whose text is not in the batches (deleted since) get an empty text's vector,
        which keeps rows and embeddings aligned.
        """
        embedder = self.embedder
        if embedder is None:
            return 0
        done = 0
        total = self.store.meta.rows - self.store.meta.dense_rows
        for batch in batches:
            start = self.store.meta.dense_rows
            if start >= self.store.meta.rows:
                break
            texts_of = {r[0]: doc_text(r[1], r[2]) for r in batch}
            last = max(texts_of) if texts_of else 0
            ids = np.asarray(self.store.ids[start:])
            ids = ids[ids <= last]
            if len(ids) == 0:
                continue
            self.store.append_dense(embedder.encode([texts_of.get(int(i), "") for i in ids]))
            done += len(ids)
            if progress is not None:
                progress(done, total)
        self.update_ann()
        return done

    def doc_freq(self) -> DocFreq:
        if self._df is None:
            self._df = self.store.doc_freq()
        return self._df

    def idf(self) -> npt.NDArray[np.float32]:
        if self._idf is None:
            self._idf = self.encoder.idf(self.doc_freq())
        return self._idf

    @property
    def has_dense(self) -> bool:
        m = self.store.meta
        return m.dim > 0 and m.dense_rows == m.rows and m.rows > 0

    # -- reading -------------------------------------------------------------------------------

    def rows_of(self, db_ids: Sequence[int]) -> IntArray:
        rows = self.store.rows_of_ids(np.asarray(db_ids, dtype=np.int64))
        return rows[rows >= 0]

    def window(self, since: date | None, until: date | None) -> IntArray:
        days = np.asarray(self.store.days)
        mask = np.ones(len(days), dtype=bool)
        if since is not None:
            mask &= days >= day_number(since)
        if until is not None:
            mask &= days <= day_number(until)
        return np.flatnonzero(mask).astype(np.int64)

    def newest_day(self) -> int | None:
        days = self.store.days
        return int(np.max(days)) if len(days) else None

    def lexical(self, rows: IntArray) -> sp.csr_matrix:
        return self.encoder.weigh(self.store.rows_tf(rows), self.idf())

    def dense(self, rows: IntArray) -> npt.NDArray[np.float16] | None:
        return self.store.dense_rows(rows) if self.has_dense else None

    # -- ranking -------------------------------------------------------------------------------

    def channels(
        self, profile: Profile, rows: IntArray, use_dense: bool, chunk: int = 50_000
    ) -> Scores:
        """Raw per-channel scores of ``rows`` (blend them with :func:`blend_channels`)."""
        n = len(rows)
        parts = [
            score_profile(
                profile,
                self.lexical(rows[start : start + chunk]),
                self.dense(rows[start : start + chunk]) if use_dense else None,
            )
            for start in range(0, n, chunk)
        ]
        if not parts:
            empty = np.zeros(0, dtype=np.float32)
            return Scores(empty, np.zeros(0, np.int64), empty, empty, None)

        def join(values: list[npt.NDArray[Any] | None]) -> npt.NDArray[Any] | None:
            return None if any(v is None for v in values) else np.concatenate(values)  # type: ignore[arg-type]

        lexical = np.concatenate([s.lexical for s in parts])
        return Scores(
            lexical,
            np.concatenate([s.nearest for s in parts]),
            np.concatenate([s.nearest_sim for s in parts]),
            lexical,
            join([s.dense for s in parts]),
            join([s.linear for s in parts]),
            join([s.dense_linear for s in parts]),
        )

    def background(self, size: int, exclude: IntArray) -> IntArray:
        """A fixed random sample of rows (the linear model's negatives), minus ``exclude``."""
        return background_sample(self.store.meta.rows, size, exclude)

    def related_candidates(self, profile: Profile, shortlist: int = 3000) -> IntArray:
        """Rows worth scoring for "papers like these": all of them, or on a large embedded
        corpus the ``shortlist`` nearest by embedding (an IVF probe), rescored by the caller.
        """
        rows = self.store.meta.rows
        if not self.has_dense or profile.pos_dense is None or rows < self.ann_min_rows:
            return np.arange(rows, dtype=np.int64)
        query = profile.pos_dense.mean(axis=0)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        near = self.semantic_neighbours(query, shortlist)
        return np.sort(self.rows_of([db_id for db_id, _ in near]))

    def explain_terms(self, text: str, profile: Profile, k: int = 5) -> tuple[str, ...]:
        """The words of ``text`` that weigh most in its match with the profile."""
        analyzer = self.encoder.hasher_analyzer()
        terms = list(dict.fromkeys(analyzer(text)))
        if not terms:
            return ()
        vector = self.encoder.weigh(self.encoder.term_frequencies([text]), self.idf())
        best = contributing_terms(vector, profile, k=k * 3)
        if not best:
            return ()
        hashed = sp.csr_matrix(self._term_hasher.transform([[t] for t in terms]))
        index_of_term = hashed.indices  # one index per term, in order
        by_index: dict[int, str] = {}
        for term, idx in zip(terms, index_of_term, strict=True):
            by_index.setdefault(int(idx), term)
        names: list[str] = []
        for idx, _weight in best:
            name = by_index.get(idx)
            # A bigram whose words are already shown says nothing new.
            if name and not any(name in n or n in name for n in names):
                names.append(name)
            if len(names) >= k:
                break
        return tuple(names)

    def semantic_neighbours(
        self, query_vector: npt.NDArray[np.float32], limit: int, n_probe: int | None = None
    ) -> list[tuple[int, float]]:
        """``(db id, cosine)`` of the rows nearest to one embedding.

        Probes the IVF index's nearest clusters when there is one (large corpora), else
        scans every embedding in blocks.
        """
        if not self.has_dense:
            return []
        q = query_vector.astype(np.float32).ravel()
        if self.ann.meta is not None and self.ann.assigned == self.store.meta.dense_rows:
            rows = self.ann.candidates(q, n_probe or max(8, self.ann.meta.n_lists // 32))
            dense = self.store.dense_rows(rows)
            if dense is not None and len(rows):
                sims = dense.astype(np.float32) @ q
                top = np.argsort(-sims, kind="stable")[:limit]
                ids = self.store.ids
                return [(int(ids[rows[i]]), float(sims[i])) for i in top]
        best_rows = np.zeros(0, dtype=np.int64)
        best_sims = np.zeros(0, dtype=np.float32)
        for start, block in self.store.iter_dense():
            sims = block.astype(np.float32) @ q
            k = min(limit, len(sims))
            part = np.argpartition(-sims, k - 1)[:k]
            best_rows = np.concatenate([best_rows, part + start])
            best_sims = np.concatenate([best_sims, sims[part]])
            keep = np.argsort(-best_sims, kind="stable")[:limit]
            best_rows, best_sims = best_rows[keep], best_sims[keep]
        ids = self.store.ids
        return [(int(ids[r]), float(s)) for r, s in zip(best_rows, best_sims, strict=True)]


def profile_of(
    parts: Sequence[tuple[RankIndex, IntArray, IntArray]], config: RankConfig | None = None
) -> Profile:
    """One profile from positives and negatives held in several indexes (papers, items).

    Positives keep the order given: ``Ranked.nearest`` indexes into their concatenation.
    """
    cfg = config or (parts[0][0].config if parts else RankConfig())
    n_features = parts[0][0].encoder.config.n_features if parts else 1
    used = [p for p in parts if len(p[1]) or len(p[2])]
    with_dense = bool(used) and all(ix.has_dense for ix, _, _ in used)

    def rows_at(part: tuple[RankIndex, IntArray, IntArray], which: int) -> IntArray:
        return part[1] if which == 1 else part[2]

    def stack_lex(which: int) -> sp.csr_matrix:
        blocks = [p[0].lexical(rows_at(p, which)) for p in parts if len(rows_at(p, which))]
        if not blocks:
            return sp.csr_matrix((0, n_features), dtype=np.float32)
        return sp.csr_matrix(sp.vstack(blocks), dtype=np.float32)

    def stack_dense(which: int) -> npt.NDArray[np.float32] | None:
        if not with_dense:
            return None
        blocks = [p[0].dense(rows_at(p, which)) for p in parts if len(rows_at(p, which))]
        arrays = [b.astype(np.float32) for b in blocks if b is not None]
        return np.vstack(arrays) if arrays else None

    neg_lex = stack_lex(2)
    profile = Profile(
        pos_lexical=stack_lex(1),
        neg_lexical=neg_lex if neg_lex.shape[0] else None,
        pos_dense=stack_dense(1),
        neg_dense=stack_dense(2),
        config=cfg,
    )
    if not parts or profile.size == 0 or cfg.linear_weight <= 0:
        return profile
    # The background comes from the first index (the papers): the bulk of the corpus.
    home, pos_rows, _neg = parts[0]
    bg = home.background(cfg.background, pos_rows)
    if len(bg) == 0:
        return profile
    bg_dense = home.dense(bg) if with_dense else None
    df = home.doc_freq()
    return with_linear(
        profile,
        home.lexical(bg),
        None if bg_dense is None else bg_dense.astype(np.float32),
        # As the IDF bounds: a small library's topic words are all "rare".
        df.counts if df.n_docs >= MIN_DOCS_FOR_MIN_DF else None,
    )


def rank_many(
    profile: Profile, parts: Sequence[tuple[RankIndex, IntArray]], limit: int
) -> list[tuple[int, Ranked]]:
    """The ``limit`` best rows over several indexes: ``(part number, ranked row)`` pairs.

    Channels are standardized over all candidates together, so papers and items compete
    on one scale.
    """
    # Empty parts are left out: they have no channels to join, and must not void others.
    numbered = [(k, ix, rows) for k, (ix, rows) in enumerate(parts) if len(rows)]
    if profile.size == 0 or limit <= 0 or not numbered:
        return []
    use_dense = profile.pos_dense is not None and all(ix.has_dense for _, ix, _ in numbered)
    scored = [ix.channels(profile, rows, use_dense) for _, ix, rows in numbered]
    lexical = np.concatenate([s.lexical for s in scored])

    def joined(values: list[FloatArray | None]) -> FloatArray | None:
        present = [v for v in values if v is not None]
        return np.concatenate(present) if len(present) == len(values) else None

    dense = joined([s.dense for s in scored]) if use_dense else None
    linear = joined([s.linear for s in scored])
    dense_linear = joined([s.dense_linear for s in scored]) if use_dense else None
    total = blend_channels(lexical, dense, profile.config, linear, dense_linear)
    owner = np.concatenate(
        [np.full(len(r), i, dtype=np.int64) for i, (_, _, r) in enumerate(numbered)]
    )
    local = np.concatenate([np.arange(len(r), dtype=np.int64) for _, _, r in numbered])
    out: list[tuple[int, Ranked]] = []
    for i in np.argsort(-total, kind="stable")[:limit]:
        n, j = int(owner[i]), int(local[i])
        part, ix, rows = numbered[n]
        s = scored[n]
        out.append(
            (
                part,
                Ranked(
                    int(rows[j]),
                    int(ix.store.ids[rows[j]]),
                    float(total[i]),
                    int(s.nearest[j]),
                    float(s.nearest_sim[j]),
                ),
            )
        )
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


__all__ = ["RankIndex", "Ranked", "doc_text", "fuse_rrf", "profile_of", "rank_many"]
