"""Keeping a ranking index in step with the database: the writer's side.

:class:`IndexWriter` turns batches of :class:`~mlradar._model.TextRow` (id, title, text,
day, authors; read by the storage layer) into stored features, incrementally: new rows
are appended, rows whose text changed get a new row (the old one is retired), author rows
are back-filled, embeddings computed when the store is embedded.  No SQL here: the caller
feeds it rows.  Only one writer may run at a time (the facade holds a lock, see
:mod:`mlradar._rank.locks`); readers in other processes see its work on their next
:meth:`~mlradar._rank.index_base.IndexBase.refresh_view`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from mlradar._model import TextRow, as_text_row
from mlradar._rank.corpus import day_number
from mlradar._rank.features import DocFreq, author_rows
from mlradar._rank.index_base import IndexBase, IntArray, doc_text, text_fingerprint

#: Where :meth:`IndexWriter.embed_missing` gets texts: a lookup of rows by database id, or
#: (small stores, tests) batches of rows.
TextSource = Callable[[Sequence[int]], Iterable[TextRow]] | Iterable[Sequence[TextRow]]
#: Where :meth:`IndexWriter.fill_authors` gets names: database id -> author names.
AuthorSource = Callable[[Sequence[int]], Mapping[int, Sequence[str]]]


class IndexWriter(IndexBase):
    """Appends to one index's files (open it with ``writable=True``)."""

    #: Rows embedded and saved together by :meth:`embed_missing`: what an interrupt can
    #: lose, and how often the progress callback hears (a few seconds of the ONNX backend).
    embed_chunk = 256

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
        chunk: int | None = None,
    ) -> int:
        """Embed the rows that have no embedding yet, in row order.

        ``texts`` looks rows up by database id (``storage.paper_texts``); rows appended
        out of id order (changed papers) make "read on from the first unembedded id"
        wrong, so the rows are fetched by id.  Batches of rows are accepted too (small
        stores: they are held in memory).  Rows whose text is not found (deleted since)
        get an empty text's vector, which keeps rows and embeddings aligned.

        Each chunk is saved before the next is embedded, so an interrupt (Ctrl-C) loses
        the chunk under way only, and a second call resumes after the last saved one.
        """
        chunk = chunk or self.embed_chunk
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


__all__ = ["AuthorSource", "IndexWriter", "TextSource"]
