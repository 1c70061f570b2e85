"""A memory-mapped, append-only store of per-paper ranking features.

It lives beside the database (``<db>.rank/`` for SQLite, the user cache directory
otherwise) and is derived from it: delete it and it is rebuilt.  Rows are appended
in the order of the papers' database ids, so syncing is "everything after the last
id I have" and finding a paper's row is a binary search.

Files (raw little-endian arrays, read through ``np.memmap`` so that a million papers
cost page cache, not heap):

* ``ids`` int64, ``days`` int32 — the paper's database id and listing day;
* ``indptr`` int64, ``indices`` int32, ``data`` float16 — CSR sublinear term frequencies;
* ``df`` int32 — document frequencies of the hashed terms (rewritten on each sync);
* ``dense`` float16 — embeddings, one row per paper, when a model is configured.

``meta.json`` is written last, atomically: rows beyond the counts it records (a sync
that died half-way) are ignored and overwritten by the next sync.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.features import DocFreq
from mlradar.exceptions import StorageError

FORMAT = 1


@dataclass(frozen=True, slots=True)
class StoreMeta:
    format: int = FORMAT
    n_features: int = 1 << 20
    rows: int = 0
    nnz: int = 0
    last_id: int = 0
    df_docs: int = 0
    model: str | None = None
    dim: int = 0
    dense_rows: int = 0


def _dtype_file(kind: str) -> np.dtype[Any]:
    return np.dtype(
        {
            "ids": np.int64,
            "days": np.int32,
            "indptr": np.int64,
            "indices": np.int32,
            "data": np.float16,
            "dense": np.float16,
            "df": np.int32,
        }[kind]
    )


class FeatureStore:
    """Open with :meth:`open`; read rows with :meth:`rows_tf` and :meth:`dense_rows`;
    grow with :meth:`append` and :meth:`append_dense`."""

    def __init__(self, path: Path, meta: StoreMeta) -> None:
        self.path = path
        self.meta = meta
        self._maps: dict[str, npt.NDArray[Any]] = {}

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, n_features: int, model: str | None) -> FeatureStore:
        """Open (or create) the store; a store of another format or feature space is reset."""
        try:
            path.mkdir(parents=True, exist_ok=True)
            meta_file = path / "meta.json"
            meta = StoreMeta(n_features=n_features, model=model)
            if meta_file.is_file():
                try:
                    loaded = StoreMeta(**json.loads(meta_file.read_text()))
                except (ValueError, TypeError):
                    loaded = None  # unreadable: rebuild rather than fail
                if loaded and loaded.format == FORMAT and loaded.n_features == n_features:
                    meta = loaded
            store = cls(path, meta)
            if meta.rows == 0:
                store._reset_files()
            if meta.model != model:
                # Another embedding model: its vectors mean nothing to this one.
                store._truncate("dense", 0)
                store.meta = replace(store.meta, model=model, dim=0, dense_rows=0)
            return store
        except OSError as exc:
            raise StorageError(f"cannot open the feature store {path}: {exc}") from exc

    def _file(self, kind: str) -> Path:
        return self.path / kind

    def _reset_files(self) -> None:
        for kind in ("ids", "days", "indices", "data", "dense", "df"):
            self._file(kind).write_bytes(b"")
        np.zeros(1, dtype=np.int64).tofile(self._file("indptr"))
        self.meta = replace(self.meta, rows=0, nnz=0, last_id=0, df_docs=0, dim=0, dense_rows=0)

    def _truncate(self, kind: str, count: int) -> None:
        size = count * _dtype_file(kind).itemsize * (self.meta.dim if kind == "dense" else 1)
        with open(self._file(kind), "ab") as fh:
            fh.truncate(size)

    def _map(self, kind: str, count: int) -> npt.NDArray[Any]:
        dtype = _dtype_file(kind)
        if count == 0:
            return np.zeros(0, dtype=dtype)
        cached = self._maps.get(kind)
        if cached is not None and cached.shape[0] == count:
            return cached
        arr = np.memmap(self._file(kind), dtype=dtype, mode="r", shape=(count,))
        self._maps[kind] = arr
        return arr

    # -- reading ------------------------------------------------------------------------------

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        return self._map("ids", self.meta.rows)

    @property
    def days(self) -> npt.NDArray[np.int32]:
        return self._map("days", self.meta.rows)

    def doc_freq(self) -> DocFreq:
        if self.meta.df_docs == 0:
            return DocFreq(np.zeros(self.meta.n_features, dtype=np.int32), 0)
        counts = np.fromfile(self._file("df"), dtype=np.int32)
        if counts.shape[0] != self.meta.n_features:
            raise StorageError(f"the feature store {self.path} is damaged: delete it to rebuild")
        return DocFreq(counts, self.meta.df_docs)

    def rows_of_ids(self, paper_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Rows of the given database ids; -1 where a paper is not in the store."""
        wanted = np.asarray(paper_ids, dtype=np.int64)
        ids = self.ids
        pos = np.searchsorted(ids, wanted)
        pos = np.minimum(pos, max(len(ids) - 1, 0))
        found = (len(ids) > 0) & (ids[pos] == wanted) if len(ids) else np.zeros(len(wanted), bool)
        return np.where(found, pos, -1).astype(np.int64)

    def rows_tf(self, rows: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """Sublinear term-frequency rows (float32 CSR) for the given store rows."""
        indptr = self._map("indptr", self.meta.rows + 1)
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = indptr[rows], indptr[rows + 1]
        lengths = (ends - starts).astype(np.int64)
        out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_ptr[1:])
        # Windows of recent papers are runs of consecutive rows: copy each run as one slice.
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        run_starts = np.concatenate(([0], breaks)) if len(rows) else np.zeros(0, np.int64)
        run_ends = np.concatenate((breaks, [len(rows)])) if len(rows) else np.zeros(0, np.int64)
        cols = np.empty(int(out_ptr[-1]), dtype=np.int32)
        vals = np.empty(int(out_ptr[-1]), dtype=np.float32)
        with open(self._file("indices"), "rb") as fi, open(self._file("data"), "rb") as fd:
            for a, b in zip(run_starts, run_ends, strict=True):
                first, count = int(starts[a]), int(ends[b - 1] - starts[a])
                dst = slice(int(out_ptr[a]), int(out_ptr[b]))
                cols[dst] = self._read(fi, np.dtype(np.int32), first, count)
                vals[dst] = self._read(fd, np.dtype(np.float16), first, count)
        return sp.csr_matrix(
            (vals, cols, out_ptr), shape=(len(rows), self.meta.n_features), dtype=np.float32
        )

    @staticmethod
    def _read(fh: BinaryIO, dtype: np.dtype[Any], first: int, count: int) -> npt.NDArray[Any]:
        # Plain reads, not a memory map: a scan of the whole store then costs page cache,
        # which the kernel reclaims, instead of resident pages counted against the process.
        fh.seek(first * dtype.itemsize)
        out = np.fromfile(fh, dtype=dtype, count=count)
        if len(out) != count:
            raise StorageError("the feature store is shorter than its meta.json says")
        return out

    def dense_rows(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float16] | None:
        """Embedding rows, or None when the store has no embeddings for all of them."""
        if self.meta.dim == 0 or self.meta.dense_rows == 0:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and int(rows.max()) >= self.meta.dense_rows:
            return None
        flat = self._map("dense", self.meta.dense_rows * self.meta.dim)
        matrix = flat.reshape(self.meta.dense_rows, self.meta.dim)
        return np.asarray(matrix[rows])

    def iter_dense(self, chunk: int = 65536) -> Iterator[tuple[int, npt.NDArray[np.float16]]]:
        """(first row, block) pairs over every embedding, for a streamed scan."""
        dim = self.meta.dim
        if dim == 0:
            return
        with open(self._file("dense"), "rb") as fh:
            for start in range(0, self.meta.dense_rows, chunk):
                count = min(chunk, self.meta.dense_rows - start)
                block = self._read(fh, np.dtype(np.float16), start * dim, count * dim)
                yield start, block.reshape(count, dim)

    # -- writing ------------------------------------------------------------------------------

    def append(
        self,
        paper_ids: npt.NDArray[np.int64],
        days: npt.NDArray[np.int32],
        tf: sp.csr_matrix,
        df: DocFreq,
    ) -> None:
        """Append rows (ids ascending, above ``last_id``) and record the new frequencies."""
        if len(paper_ids) == 0:
            return
        if int(paper_ids[0]) <= self.meta.last_id or np.any(np.diff(paper_ids) <= 0):
            raise StorageError("feature store rows must be appended in ascending id order")
        m = self.meta
        self._maps.clear()
        try:
            # Drop whatever a crashed sync left past the recorded counts, then append.
            self._truncate("ids", m.rows)
            self._truncate("days", m.rows)
            self._truncate("indices", m.nnz)
            self._truncate("data", m.nnz)
            with open(self._file("indptr"), "ab") as fh:
                fh.truncate((m.rows + 1) * 8)
            tf = sp.csr_matrix(tf)
            self._append_raw("ids", np.asarray(paper_ids, dtype=np.int64))
            self._append_raw("days", np.asarray(days, dtype=np.int32))
            self._append_raw("indices", tf.indices.astype(np.int32))
            self._append_raw("data", tf.data.astype(np.float16))
            self._append_raw("indptr", (tf.indptr[1:] + m.nnz).astype(np.int64))
            tmp = self._file("df.tmp")
            df.counts.astype(np.int32).tofile(tmp)
            os.replace(tmp, self._file("df"))
            self._write_meta(
                replace(
                    m,
                    rows=m.rows + len(paper_ids),
                    nnz=m.nnz + int(tf.nnz),
                    last_id=int(paper_ids[-1]),
                    df_docs=df.n_docs,
                )
            )
        except OSError as exc:
            raise StorageError(f"cannot write the feature store {self.path}: {exc}") from exc

    def append_dense(self, vectors: npt.NDArray[np.float32]) -> None:
        """Append embeddings for the next rows (those after ``dense_rows``)."""
        if len(vectors) == 0:
            return
        m = self.meta
        dim = int(vectors.shape[1])
        if m.dim not in (0, dim):
            raise StorageError(f"embedding size {dim} differs from the store's {m.dim}")
        if m.dense_rows + len(vectors) > m.rows:
            raise StorageError("more embeddings than stored papers")
        self._maps.clear()
        try:
            self.meta = replace(m, dim=dim)
            self._truncate("dense", m.dense_rows)
            self._append_raw("dense", vectors.astype(np.float16).ravel())
            self._write_meta(replace(self.meta, dense_rows=m.dense_rows + len(vectors)))
        except OSError as exc:
            raise StorageError(f"cannot write the feature store {self.path}: {exc}") from exc

    def _append_raw(self, kind: str, values: npt.NDArray[Any]) -> None:
        with open(self._file(kind), "ab") as fh:
            values.astype(_dtype_file(kind), copy=False).tofile(fh)

    def _write_meta(self, meta: StoreMeta) -> None:
        tmp = self._file("meta.json.tmp")
        tmp.write_text(json.dumps(asdict(meta)))
        os.replace(tmp, self._file("meta.json"))
        self.meta = meta
