"""What the writer and the query side of a ranking index share: the files and their caches.

A :class:`~mlradar._rank.index.RankIndex` is one feature store (:mod:`.store`) and one
IVF index (:mod:`.ann`) of one kind of record (papers or items), plus what is derived
from them in memory (document frequencies, IDF).  Writers append (:mod:`.index_write`),
readers rank (:mod:`.index_query`); a reader opened with ``writable=False`` never writes a
file, and :meth:`IndexBase.refresh_view` lets it see what a writer in another process
added since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlradar._model import TextRow, as_text_row
from mlradar._rank.ann import MIN_ROWS, IvfIndex
from mlradar._rank.embed import Embedder
from mlradar._rank.features import DocFreq, LexicalEncoder
from mlradar._rank.models import RankConfig
from mlradar._rank.store import FeatureStore

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


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


class IndexBase:
    """Features of one kind of record (papers or items), stored beside the database."""

    #: From this many embedded rows on, nearest-neighbour queries probe an IVF index.
    ann_min_rows = MIN_ROWS

    def __init__(
        self,
        path: Path,
        model: str | None = None,
        embedder: Callable[[], Embedder | None] | Embedder | None = None,
        config: RankConfig | None = None,
        *,
        writable: bool = True,
    ) -> None:
        """``model`` names the embedding model; ``embedder`` is it, or loads it on first use.

        ``writable=False`` opens for reading only (see the module docstring).
        """
        self.path = path
        self.writable = writable
        self.encoder = LexicalEncoder()
        self.config = config or RankConfig()
        self._embedder_source = embedder
        self._embedder: Embedder | None = None
        self.store = FeatureStore.open(
            path, self.encoder.config.n_features, model, writable=writable
        )
        self.ann = IvfIndex(path)
        if writable and self.ann.assigned > self.store.meta.dense_rows:
            # The embeddings were reset (another model): the clusters mean nothing now.
            (path / "ivf.json").unlink(missing_ok=True)
            self.ann = IvfIndex(path)
        self._df: DocFreq | None = None
        self._idf: FloatArray | None = None
        self._adf: DocFreq | None = None

    def refresh_view(self) -> bool:
        """See what writers added since this index was read (a ``stat`` when nothing was);
        returns whether anything changed."""
        changed = self.store.reload()
        if changed:
            self._df, self._idf, self._adf = None, None, None
        return self.ann.reload() or changed

    @property
    def embedder(self) -> Embedder | None:
        """The embedding model, loaded on first use (importing it takes seconds)."""
        if self._embedder is None and self.store.meta.model is not None:
            source = self._embedder_source
            self._embedder = source() if callable(source) else source
            self._embedder_source = None
        return self._embedder

    @property
    def last_id(self) -> int:
        return self.store.meta.last_id

    @property
    def has_dense(self) -> bool:
        m = self.store.meta
        return m.dim > 0 and m.dense_rows == m.rows and m.rows > 0

    @property
    def has_authors(self) -> bool:
        """Whether every row has its author row (so the author channel can be used)."""
        return self.store.has_all_authors

    def doc_freq(self) -> DocFreq:
        if self._df is None:
            self._df = self.store.doc_freq()
        return self._df

    def idf(self) -> FloatArray:
        if self._idf is None:
            self._idf = self.encoder.idf(self.doc_freq())
        return self._idf

    def author_doc_freq(self) -> DocFreq:
        """How many live rows name each hashed author (read once, then kept in step)."""
        if self._adf is None:
            self._adf = self.store.author_doc_freq()
        return self._adf

    def rows_of(self, db_ids: object) -> IntArray:
        """Current rows of database ids (retired rows never), unknown ids left out."""
        rows = self.store.rows_of_ids(np.asarray(db_ids, dtype=np.int64))
        out: IntArray = rows[rows >= 0]
        return out

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


__all__ = ["IndexBase", "doc_text", "text_fingerprint"]
