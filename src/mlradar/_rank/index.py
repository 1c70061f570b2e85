"""The ranking index of one database: a feature store kept in step with it, and queries.

:class:`RankIndex` turns batches of :class:`~mlradar._model.TextRow` (id, title,
text, day, authors; read by the storage layer) into stored features, incrementally, and
answers the ranking questions on top: candidates in a window, profiles from feedback,
scores with reasons, and dense nearest neighbours for search.  No SQL here: the caller
feeds it rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher

from mlradar._model import TextRow, as_text_row
from mlradar._rank.ann import MIN_ROWS, SHORTLIST, IvfIndex, default_probes, matvec
from mlradar._rank.corpus import day_number
from mlradar._rank.embed import Embedder
from mlradar._rank.features import (
    AUTHOR_FEATURES,
    MIN_DOCS_FOR_MIN_DF,
    DocFreq,
    LexicalEncoder,
    author_rows,
)
from mlradar._rank.models import (
    Profile,
    RankConfig,
    Scores,
    author_weights,
    background_sample,
    blend_channels,
    contributing_terms,
    score_profile,
    with_linear,
)
from mlradar._rank.signals import passed
from mlradar._rank.store import FeatureStore

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
#: Where :meth:`RankIndex.embed_missing` gets texts: a lookup of rows by database id, or
#: (small stores, tests) batches of rows.
TextSource = Callable[[Sequence[int]], Iterable[TextRow]] | Iterable[Sequence[TextRow]]
#: Where :meth:`RankIndex.fill_authors` gets names: database id -> author names.
AuthorSource = Callable[[Sequence[int]], Mapping[int, Sequence[str]]]


def doc_text(title: str, body: str) -> str:
    """The text features are computed from: the same shape as the evaluation's."""
    return f"{title}. {body}"


def text_fingerprint(row: TextRow | tuple[int, str, str, date | None]) -> int:
    """A nonzero 64-bit digest of what a row's features are made of: text, day, authors.

    A paper whose fingerprint differs from its stored row's is featurized again.
    """
    _id, title, body, day, authors = as_text_row(row)
    text = f"{day.isoformat() if day else ''}\x00{doc_text(title, body)}"
    if authors:
        # Only when there are any: rows without authors keep the digests stored before
        # author rows existed, so upgrading does not make every item look changed.
        text += "\x00" + "\x1f".join(authors)
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    # 0 means "unknown" in the store: fold it away.
    return int.from_bytes(digest, "little", signed=True) or 1


@dataclass(frozen=True, slots=True)
class Ranked:
    """One ranked row: store row, database id, score, nearest positive (index), its similarity,
    and its author affinity (before the config's ``author_weight``; 0 without the channel)."""

    row: int
    db_id: int
    score: float
    nearest: int
    nearest_sim: float
    authors: float = 0.0


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
        self._adf: DocFreq | None = None
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
        embedding of a large corpus is a long job run by :meth:`embed_missing`).  Their
        author rows are stored while every earlier row has its own (see
        :meth:`fill_authors`).
        """
        rows = [as_text_row(r) for r in batch if r[0] > self.last_id]
        if not rows:
            return 0
        texts = [doc_text(r.title, r.body) for r in rows]
        tf = self.encoder.term_frequencies(texts)
        df = self.doc_freq().add(tf)
        fallback = int(self.store.days[-1]) if self.store.meta.rows else 0
        days = np.array(
            [day_number(r.day) if r.day is not None else fallback for r in rows], dtype=np.int32
        )
        ids = np.array([r.id for r in rows], dtype=np.int64)
        fps = np.array([text_fingerprint(r) for r in rows], dtype=np.int64)
        dense_complete = self.has_dense
        authors, adf = None, None
        if self.store.has_all_authors:
            authors = author_rows(r.authors for r in rows)
            adf = self.author_doc_freq().add(authors)
        self.store.append(ids, days, tf, df, fps, authors, adf)
        return self._appended(len(rows), df, adf, texts if dense_complete else None)

    def refresh(self, batches: Iterable[Sequence[TextRow]]) -> int:
        """Featurize again the stored rows whose text (or day) changed; returns how many.

        ``batches`` hold the current text of rows that *may* have changed (the database
        knows what was written lately, not what changed): a row whose fingerprint equals
        its stored row's costs nothing, so reading too much is safe and a second refresh
        does nothing.  A changed paper gets a new row and its old row is retired; ids the
        store lacks although they are below :attr:`last_id` (a late commit) are added.
        """
        done = 0
        for batch in batches:
            rows = list({r[0]: as_text_row(r) for r in batch if 0 < r[0] <= self.last_id}.values())
            if not rows:
                continue
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            fps = np.array([text_fingerprint(r) for r in rows], dtype=np.int64)
            current = self.store.rows_of_ids(ids)
            known = self.store.fingerprints(np.maximum(current, 0))
            # An unknown fingerprint (0: a store from before them) cannot vouch for a row.
            stale = (current < 0) | (known != fps) | (known == 0)
            if not np.any(stale):
                continue
            chosen = [r for r, s in zip(rows, stale, strict=True) if s]
            done += self._replace(chosen, current[stale], fps[stale])
        return done

    def _replace(self, rows: Sequence[TextRow], current: IntArray, fps: IntArray) -> int:
        texts = [doc_text(r.title, r.body) for r in rows]
        tf = self.encoder.term_frequencies(texts)
        old = current[current >= 0]
        df = self.doc_freq()
        if len(old):
            df = df.remove(self.store.rows_tf(old))
        df = df.add(tf)
        # The retired rows' authors leave the frequencies (those that have author rows:
        # in a store still being back-filled, the others were never counted).
        adf: DocFreq | None = None
        old_with_authors = old[old < self.store.meta.author_rows]
        if len(old_with_authors):
            adf = self.author_doc_freq().remove(self.store.rows_authors(old_with_authors))
        authors = None
        if self.store.has_all_authors:
            authors = author_rows(r.authors for r in rows)
            adf = (adf if adf is not None else self.author_doc_freq()).add(authors)
        fallback = int(self.store.days[-1]) if self.store.meta.rows else 0
        days = np.array(
            [day_number(r.day) if r.day is not None else fallback for r in rows], dtype=np.int32
        )
        ids = np.array([r.id for r in rows], dtype=np.int64)
        dense_complete = self.has_dense
        self.store.append_moved(current, ids, days, tf, df, fps, authors, adf)
        return self._appended(len(rows), df, adf, texts if dense_complete else None)

    def _appended(
        self, n: int, df: DocFreq, adf: DocFreq | None, texts: Sequence[str] | None
    ) -> int:
        """After rows were appended: keep the new frequencies, and embed the rows when the
        store was fully embedded (``texts`` given) so that it stays so."""
        self._df, self._idf = df, None
        if adf is not None:
            self._adf = adf
        embedder = self.embedder if texts is not None else None
        if embedder is not None and texts is not None:
            self.store.append_dense(embedder.encode(texts))
            self.update_ann()
        return n

    @property
    def changed_since(self) -> str | None:
        """Where the last check for changed texts stopped (opaque to the index)."""
        return self.store.meta.changed_since

    def set_changed_since(self, value: str | None) -> None:
        self.store.set_changed_since(value)

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
        added = sum(self.add(batch) for batch in batches)
        if self.ann.assigned < self.store.meta.dense_rows:
            # An IVF index left behind (a damaged file, an older format) catches up here,
            # not only when new rows arrive.
            self.update_ann()
        return added

    @property
    def has_authors(self) -> bool:
        """Whether every row has its author row (so the author channel can be used)."""
        return self.store.has_all_authors

    def fill_authors(self, lookup: AuthorSource, chunk: int = 20_000) -> int:
        """Back-fill the author rows a store from before them lacks; returns how many.

        ``lookup`` maps database ids to author names (``storage.paper_authors``); rows
        whose id it does not know (deleted since) get no authors.  Nothing to do (and no
        lookup) once every row has its author row.
        """
        done = 0
        while not self.store.has_all_authors:
            start = self.store.meta.author_rows
            end = min(start + chunk, self.store.meta.rows)
            ids = [int(i) for i in self.store.ids[start:end]]
            names = lookup(ids)
            rows = author_rows(names.get(i, ()) for i in ids)
            # Retired rows are stored for alignment only: they count in no frequency.
            live = self.is_live(np.arange(start, end, dtype=np.int64))
            adf = self.author_doc_freq().add(rows[np.flatnonzero(live)])
            self.store.append_authors(rows, adf)
            self._adf = adf
            done += end - start
        return done

    @property
    def first_unembedded_id(self) -> int | None:
        """The database id of the first row without an embedding, if any."""
        m = self.store.meta
        if m.model is None or m.dense_rows >= m.rows:
            return None
        return int(self.store.ids[m.dense_rows])

    def embed_missing(
        self,
        texts: TextSource,
        progress: Callable[[int, int], None] | None = None,
        chunk: int = 1024,
    ) -> int:
        """Embed the rows that have no embedding yet, in row order.

        ``texts`` looks rows up by database id (``storage.paper_texts``); rows appended
        out of id order (changed papers) make "read on from the first unembedded id"
        wrong, so the rows are fetched by id.  Batches of rows are accepted too (small
        stores: they are held in memory).  Rows whose text is not found (deleted since)
        get an empty text's vector, which keeps rows and embeddings aligned.
        """
        embedder = self.embedder
        if embedder is None:
            return 0
        if callable(texts):
            lookup = texts
        else:
            known = {r[0]: r for batch in texts for r in batch}

            def lookup(ids: Sequence[int]) -> Iterable[TextRow]:
                return [known[i] for i in ids if i in known]

        done = 0
        total = self.store.meta.rows - self.store.meta.dense_rows
        while self.store.meta.dense_rows < self.store.meta.rows:
            start = self.store.meta.dense_rows
            ids = [int(i) for i in self.store.ids[start : start + chunk]]
            text_of = {r[0]: doc_text(r[1], r[2]) for r in lookup(ids)}
            self.store.append_dense(embedder.encode([text_of.get(i, "") for i in ids]))
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

    def author_doc_freq(self) -> DocFreq:
        """How many live rows name each hashed author (read once, then kept in step)."""
        if self._adf is None:
            self._adf = self.store.author_doc_freq()
        return self._adf

    @property
    def has_dense(self) -> bool:
        m = self.store.meta
        return m.dim > 0 and m.dense_rows == m.rows and m.rows > 0

    # -- reading -------------------------------------------------------------------------------

    def rows_of(self, db_ids: Sequence[int]) -> IntArray:
        """Current rows of database ids (retired rows never), unknown ids left out."""
        rows = self.store.rows_of_ids(np.asarray(db_ids, dtype=np.int64))
        return rows[rows >= 0]

    def is_live(self, rows: IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``rows`` are their paper's current row (False for retired ones).

        Anything that reaches rows without going through :meth:`rows_of` (a scan of the
        embeddings, an IVF list) must filter with this.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if self.store.meta.moves == 0:
            return np.ones(len(rows), dtype=bool)
        out: npt.NDArray[np.bool_] = self.store.live_mask()[rows]
        return out

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
        """Raw per-channel scores of ``rows`` (blend them with :func:`blend_channels`).

        Author affinity is scored when the profile has author weights and this index has
        every row's authors.
        """
        n = len(rows)
        use_authors = profile.author_weights is not None and self.has_authors
        parts = [
            score_profile(
                profile,
                self.lexical(rows[start : start + chunk]),
                self.dense(rows[start : start + chunk]) if use_dense else None,
                self.authors(rows[start : start + chunk]) if use_authors else None,
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
            join([s.authors for s in parts]),
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
    weights = _author_weights(parts) if cfg.author_weight > 0 else None

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
        author_weights=weights,
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


def _author_weights(parts: Sequence[tuple[RankIndex, IntArray, IntArray]]) -> FloatArray | None:
    """What each author of the positives is worth, over the corpus of every index given.

    Papers and items hash names into one space, so an item's author and a paper's author
    with the same normalized name are one author; the frequencies are summed likewise.
    None when some index still lacks author rows, or no positive's author weighs anything.
    """
    if not parts or not all(ix.has_authors for ix, _, _ in parts):
        return None
    blocks = [ix.authors(pos) for ix, pos, _ in parts if len(pos)]
    if not blocks:
        return None
    counts = np.zeros(AUTHOR_FEATURES, dtype=np.int32)
    n_docs = 0
    for ix, _, _ in parts:
        df = ix.author_doc_freq()
        counts += df.counts
        n_docs += df.n_docs
    weights = author_weights(sp.csr_matrix(sp.vstack(blocks)), counts, n_docs)
    return weights if np.any(weights > 0) else None


def author_counts(
    parts: Sequence[tuple[RankIndex, IntArray]],
) -> npt.NDArray[np.int64]:
    """Per hashed author: on how many of the given rows (positives, say) the name appears."""
    out = np.zeros(AUTHOR_FEATURES, dtype=np.int64)
    for ix, rows in parts:
        if len(rows) and ix.has_authors:
            out += np.bincount(ix.authors(rows).indices, minlength=AUTHOR_FEATURES)
    return out


def author_columns(names: Sequence[str]) -> npt.NDArray[np.int64]:
    """The hashed column of each name (-1 for a blank one), as :func:`author_rows` hashes."""
    rows = author_rows([[n] for n in names])
    out = np.full(len(names), -1, dtype=np.int64)
    filled = np.diff(rows.indptr) > 0
    out[filled] = rows.indices[rows.indptr[:-1][filled]]
    return out


class Shortlist:
    """Every candidate of a request scored by the model, best first; rows on demand.

    Scoring is the costly part; turning the best rows into :class:`Ranked` records is
    cheap, so a caller that re-orders the best few (the priors of
    :mod:`mlradar._rank.signals`) can take more without scoring again.
    """

    def __init__(
        self,
        numbered: Sequence[tuple[int, RankIndex, IntArray]],
        scored: Sequence[Scores],
        total: FloatArray,
        with_authors: bool = False,
    ) -> None:
        """``with_authors``: whether the author channel was part of ``total``."""
        self._numbered = numbered
        self._scored = scored
        self._total = total
        self._with_authors = with_authors
        self._order = np.argsort(-total, kind="stable")
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
        self.spread = float(total.std()) if len(total) else 0.0

    def __len__(self) -> int:
        return len(self._total)

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
        affinity = np.zeros(len(best), dtype=np.float32)
        for k, (_part, ix, part_rows) in enumerate(self._numbered):
            mine = owner == k
            if not np.any(mine):
                continue
            rows[mine] = part_rows[local[mine]]
            db_ids[mine] = ix.store.ids[rows[mine]]
            nearest[mine] = self._scored[k].nearest[local[mine]]
            nearest_sim[mine] = self._scored[k].nearest_sim[local[mine]]
            part_authors = self._scored[k].authors
            if self._with_authors and part_authors is not None:
                affinity[mine] = part_authors[local[mine]]
        return [
            (
                self._numbered[int(owner[i])][0],
                Ranked(
                    int(rows[i]),
                    int(db_ids[i]),
                    float(self._total[best[i]]),
                    int(nearest[i]),
                    float(nearest_sim[i]),
                    float(affinity[i]),
                ),
            )
            for i in range(len(best))
        ]


def rank_all(profile: Profile, parts: Sequence[tuple[RankIndex, IntArray]]) -> Shortlist:
    """Score every candidate row over several indexes (see :func:`rank_many`)."""
    # Empty parts are left out: they have no channels to join, and must not void others.
    numbered = [(k, ix, rows) for k, (ix, rows) in enumerate(parts) if len(rows)]
    if profile.size == 0 or not numbered:
        return Shortlist([], [], np.zeros(0, dtype=np.float32))
    use_dense = profile.pos_dense is not None and all(ix.has_dense for _, ix, _ in numbered)
    scored = [ix.channels(profile, rows, use_dense) for _, ix, rows in numbered]
    lexical = np.concatenate([s.lexical for s in scored])

    def joined(values: list[FloatArray | None]) -> FloatArray | None:
        present = [v for v in values if v is not None]
        return np.concatenate(present) if len(present) == len(values) else None

    dense = joined([s.dense for s in scored]) if use_dense else None
    linear = joined([s.linear for s in scored])
    dense_linear = joined([s.dense_linear for s in scored]) if use_dense else None
    # Every part scores authors or none does: a part without author rows (a store still
    # being back-filled) switches the channel off rather than ranking its rows lower.
    authors = joined([s.authors for s in scored])
    total = blend_channels(lexical, dense, profile.config, linear, dense_linear, authors)
    return Shortlist(numbered, scored, total, authors is not None)


def author_lifted(ranked: Sequence[tuple[int, Ranked]], weight: float) -> npt.NDArray[np.bool_]:
    """For each ranked ``(part, row)``: did its author affinity move it above a row that
    the other channels alone preferred (one shown below it, or one it kept out of the list)?

    Pass the model's best rows, more than are shown: a row lifted into the list passed
    one of those left out.  This is what makes the authors worth naming in a reason.
    """
    scores = np.array([r.score for _, r in ranked], dtype=np.float64)
    lift = weight * np.array([r.authors for _, r in ranked], dtype=np.float64)
    # Scores are float32 sums: what is left without the lift is rounded, so that rows whose
    # other channels tie (the same text) still tie.
    without = np.round(scores - lift, 5)
    # Ties as the model breaks them: by part, then row (candidates' order in rank_all).
    parts = np.array([part for part, _ in ranked], dtype=np.int64)
    rows = np.array([r.row for _, r in ranked], dtype=np.int64)
    order = np.lexsort((rows, parts, -without))
    rank = np.empty(len(ranked), dtype=np.int64)
    rank[order] = np.arange(len(ranked))
    out: npt.NDArray[np.bool_] = passed(rank, scores) & (lift > 0)
    return out


def rank_many(
    profile: Profile, parts: Sequence[tuple[RankIndex, IntArray]], limit: int
) -> list[tuple[int, Ranked]]:
    """The ``limit`` best rows over several indexes: ``(part number, ranked row)`` pairs.

    Channels are standardized over all candidates together, so papers and items compete
    on one scale.
    """
    if limit <= 0:
        return []
    return rank_all(profile, parts).take(limit)


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
    "RankIndex",
    "Ranked",
    "Shortlist",
    "TextRow",
    "author_columns",
    "author_counts",
    "author_lifted",
    "doc_text",
    "fuse_rrf",
    "profile_of",
    "rank_all",
    "rank_many",
    "text_fingerprint",
]
