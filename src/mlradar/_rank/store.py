"""A memory-mapped, append-only store of per-paper ranking features.

It lives beside the database (``<db>.rank/`` for SQLite, the user cache directory
otherwise) and is derived from it: delete it and it is rebuilt.  Rows are appended
in the order of the papers' database ids, so syncing is "everything after the last
id I have" and finding a paper's row is a binary search.

A paper whose text changed (a new arXiv version with a new abstract) is not rewritten
in place: a new row is appended for it and the old row is *retired*.  Such a row is
out of id order; ``moves`` records it as ``(retired row, new row)``, and lookups by id
consult those moves first, so a retired row is never returned.  The same mechanism
takes in a row that arrives late, below the last id (``(-1, new row)``): nothing is
retired then.

Files (raw little-endian arrays, read through ``np.memmap`` so that a million papers
cost page cache, not heap):

* ``ids`` int64, ``days`` int32 — the paper's database id and listing day;
* ``fp`` int64 — a fingerprint of the text (and day) each row was made from, 0 when
  unknown (stores written before fingerprints existed);
* ``indptr`` int64, ``indices`` int32, ``data`` float16 — CSR sublinear term frequencies;
* ``df`` int32 — document frequencies of the hashed terms of the live rows (rewritten on
  each sync);
* ``moves`` int64 pairs — ``(retired row or -1, new row)``, in the order they happened;
* ``dense`` float16 — embeddings, one row per paper, when a model is configured;
* ``aindptr`` int64, ``aindices`` int32 — binary CSR rows of the hashed author names
  (:func:`~mlradar._rank.features.author_rows`; no data file: every entry is 1);
* ``adf`` int32 — how many live rows name each hashed author (generations like ``df``).

Author rows are appended in step with the term rows.  A store written before they existed
has none (``author_rows`` 0 in meta.json): new rows then get none either, and
:meth:`FeatureStore.append_authors` back-fills them in row order (the caller reads the
names by id) until the two are in step again.

``meta.json`` is written last, atomically: rows (and moves) beyond the counts it records
(a sync that died half-way) are ignored and overwritten by the next sync.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.features import AUTHOR_FEATURES, DocFreq
from mlradar.exceptions import StorageError

FORMAT = 1
#: Generation files of document frequencies: ``df`` (terms) and ``adf`` (authors).
_GEN_FILE = re.compile(r"(a?df)(\.\d+|\.tmp)?")


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
    #: Entries in ``moves``: rows appended out of id order (re-featurized or late).
    moves: int = 0
    #: Generation of the document-frequency file (``df``, then ``df.1``, ``df.2``...): a
    #: new generation is written beside the old one and meta.json switches to it, so a
    #: crash between the two never pairs frequencies with rows they do not describe.
    df_gen: int = 0
    #: From when the next sync looks for changed texts (an ISO time on the clock of the
    #: database's change stamps; opaque here); None before the first check.
    changed_since: str | None = None
    #: Rows, from the first, that have author rows: ``rows`` when in step; fewer in a store
    #: from before author rows (0) until they are back-filled.
    author_rows: int = 0
    author_nnz: int = 0
    #: Live rows counted in the author frequencies (``adf``), and its generation.
    author_df_docs: int = 0
    author_df_gen: int = 0
    #: Width of the hashed author space the rows were made in.
    author_features: int = AUTHOR_FEATURES


_DTYPES: dict[str, np.dtype[Any]] = {
    "ids": np.dtype(np.int64),
    "days": np.dtype(np.int32),
    "indptr": np.dtype(np.int64),
    "indices": np.dtype(np.int32),
    "data": np.dtype(np.float16),
    "dense": np.dtype(np.float16),
    "df": np.dtype(np.int32),
    "fp": np.dtype(np.int64),
    "moves": np.dtype(np.int64),
    "aindptr": np.dtype(np.int64),
    "aindices": np.dtype(np.int32),
}


def embedded_model(path: Path) -> str | None:
    """The embedding model whose vectors the store at ``path`` holds (None: none yet, or
    no readable store), read from its meta.json without opening the store."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    model = meta.get("model") if isinstance(meta, dict) else None
    rows = meta.get("dense_rows", 0) if isinstance(meta, dict) else 0
    return model if isinstance(model, str) and isinstance(rows, int) and rows > 0 else None


def _dtype_file(kind: str) -> np.dtype[Any]:
    return _DTYPES[kind]


class FeatureStore:
    """Open with :meth:`open`; read rows with :meth:`rows_tf` and :meth:`dense_rows`;
    grow with :meth:`append` and :meth:`append_dense`."""

    def __init__(self, path: Path, meta: StoreMeta) -> None:
        self.path = path
        self.meta = meta
        self._maps: dict[str, npt.NDArray[Any]] = {}
        #: Arrays derived from ids and moves (live mask, lookup keys), keyed by the counts.
        self._derived: dict[str, tuple[tuple[int, int], Any]] = {}
        self._writable = True
        #: The embedding model the files hold vectors of (None: none), and meta.json's
        #: identity when it was read (see :meth:`reload`).
        self._on_disk_model: str | None = meta.model
        self._signature: tuple[int, int, int] | None = None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, n_features: int, model: str | None, *, writable: bool = True
    ) -> FeatureStore:
        """Open the store; a store of another format or feature space is reset.

        A reader (``writable=False``) never writes: a missing or foreign store reads as
        empty, and embeddings of another model read as absent, until a writer resets
        them.  Call :meth:`reload` to see what writers (other processes) added since.
        """
        store = cls(path, StoreMeta(n_features=n_features, model=model))
        store._writable = writable
        try:
            if writable:
                path.mkdir(parents=True, exist_ok=True)
            store._load_meta(model)
            if not writable:
                return store
            meta = store.meta
            if meta.rows == 0:
                store._reset_files()
            elif meta.author_features != AUTHOR_FEATURES:
                # Names hashed into another space: drop them, the back-fill redoes them.
                store._write_meta(store._without_authors())
            if store._on_disk_model != model:
                # Another embedding model: its vectors mean nothing to this one.
                store._replace_empty("dense")
            return store
        except OSError as exc:
            raise StorageError(f"cannot open the feature store {path}: {exc}") from exc

    def _meta_signature(self) -> tuple[int, int, int] | None:
        try:
            st = self._file("meta.json").stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load_meta(self, model: str | None) -> None:
        """Read meta.json as this process may use it (see :meth:`open`)."""
        signature = self._meta_signature()
        meta = StoreMeta(n_features=self.meta.n_features, model=model)
        on_disk: str | None = model
        if signature is not None:
            try:
                loaded = StoreMeta(**json.loads(self._file("meta.json").read_text()))
            except (ValueError, TypeError, OSError):
                loaded = None  # unreadable: rebuild rather than fail
            if loaded and loaded.format == FORMAT and loaded.n_features == meta.n_features:
                meta, on_disk = loaded, loaded.model
        if meta.rows and meta.author_features != AUTHOR_FEATURES:
            meta = replace(meta, author_rows=0, author_nnz=0, author_df_docs=0)
        if on_disk != model:
            meta = replace(meta, model=model, dim=0, dense_rows=0)
        self.meta = meta
        self._on_disk_model = on_disk
        self._signature = signature
        self._maps.clear()
        self._derived.clear()

    def reload(self) -> bool:
        """Read meta.json again if a writer replaced it; returns whether anything changed.

        Cheap (one ``stat``) when nothing did.  Writers only append past the counts a
        reader knows, so the rows it has read stay valid.
        """
        if self._meta_signature() == self._signature:
            return False
        self._load_meta(self.meta.model)
        return True

    def _file(self, kind: str) -> Path:
        return self.path / kind

    def _df_files(self, prefix: str = "df") -> list[Path]:
        out = []
        for f in self.path.iterdir():
            match = _GEN_FILE.fullmatch(f.name)
            if match and match.group(1) == prefix:
                out.append(f)
        return out

    def _df_file(self, gen: int, prefix: str = "df") -> Path:
        return self._file(prefix if gen == 0 else f"{prefix}.{gen}")

    def _replace_empty(self, kind: str) -> None:
        # A new empty file replaces the old one rather than truncating it: a reader still
        # mapping the old file keeps it (truncating a mapped file kills it with SIGBUS).
        tmp = self._file(f"{kind}.new")
        tmp.write_bytes(b"")
        os.replace(tmp, self._file(kind))

    def _reset_files(self) -> None:
        for kind in ("ids", "days", "fp", "indices", "data", "dense", "moves", "aindices"):
            self._replace_empty(kind)
        for old in self._df_files("df") + self._df_files("adf"):
            old.unlink()
        for kind in ("indptr", "aindptr"):
            tmp = self._file(f"{kind}.new")
            np.zeros(1, dtype=np.int64).tofile(tmp)
            os.replace(tmp, self._file(kind))
        self.meta = replace(
            self._without_authors(),
            rows=0,
            nnz=0,
            last_id=0,
            df_docs=0,
            dim=0,
            dense_rows=0,
            moves=0,
            df_gen=0,
            changed_since=None,
        )

    def _without_authors(self) -> StoreMeta:
        # The files need no reset: writes truncate them to the counts first.
        return replace(
            self.meta,
            author_rows=0,
            author_nnz=0,
            author_df_docs=0,
            author_features=AUTHOR_FEATURES,
        )

    def _truncate(self, kind: str, count: int) -> None:
        width = self.meta.dim if kind == "dense" else (2 if kind == "moves" else 1)
        size = count * _dtype_file(kind).itemsize * width
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
        """Document frequencies over the live rows (retired rows were subtracted)."""
        try:
            return self._read_df("df", self.meta.df_gen, self.meta.df_docs, self.meta.n_features)
        except StorageError:
            if not self.reload():  # a writer replaced the generation this meta names
                raise
            return self._read_df("df", self.meta.df_gen, self.meta.df_docs, self.meta.n_features)

    def author_doc_freq(self) -> DocFreq:
        """How many live rows (among those with author rows) name each hashed author."""
        try:
            m = self.meta
            return self._read_df("adf", m.author_df_gen, m.author_df_docs, AUTHOR_FEATURES)
        except StorageError:
            if not self.reload():
                raise
            m = self.meta
            return self._read_df("adf", m.author_df_gen, m.author_df_docs, AUTHOR_FEATURES)

    def _read_df(self, prefix: str, gen: int, n_docs: int, width: int) -> DocFreq:
        if n_docs == 0:
            return DocFreq(np.zeros(width, dtype=np.int32), 0)
        try:
            counts = np.fromfile(self._df_file(gen, prefix), dtype=np.int32)
        except OSError as exc:
            raise StorageError(f"the feature store {self.path} is damaged: {exc}") from exc
        if counts.shape[0] != width:
            raise StorageError(f"the feature store {self.path} is damaged: delete it to rebuild")
        return DocFreq(counts, n_docs)

    def fingerprints(self, rows: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The text fingerprint each row was made from; 0 where it is not known."""
        rows = np.asarray(rows, dtype=np.int64)
        path = self._file("fp")
        # Stores written before fingerprints existed have a short (or no) file: unknown.
        have = min(self.meta.rows, path.stat().st_size // 8) if path.is_file() else 0
        out = np.zeros(len(rows), dtype=np.int64)
        inside = rows < have
        if np.any(inside):
            out[inside] = self._map("fp", have)[rows[inside]]
        return out

    def _cached(self, name: str, make: Any) -> Any:
        key = (self.meta.rows, self.meta.moves)
        hit = self._derived.get(name)
        if hit is None or hit[0] != key:
            hit = self._derived[name] = (key, make())
        return hit[1]

    def moves(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(retired rows or -1, new rows)`` of every move, oldest first."""

        def make() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
            pairs = self._map("moves", 2 * self.meta.moves).reshape(-1, 2)
            return np.array(pairs[:, 0]), np.array(pairs[:, 1])

        out: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] = self._cached("moves", make)
        return out

    def retired_rows(self) -> npt.NDArray[np.int64]:
        """Rows replaced by newer ones, ascending."""
        old, _new = self.moves()
        return np.unique(old[old >= 0])

    def live_mask(self) -> npt.NDArray[np.bool_]:
        """True for every row that is its paper's current one."""

        def make() -> npt.NDArray[np.bool_]:
            mask = np.ones(self.meta.rows, dtype=bool)
            mask[self.retired_rows()] = False
            return mask

        out: npt.NDArray[np.bool_] = self._cached("live", make)
        return out

    def live_rows(self, rows: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """``rows`` without the retired ones (order kept)."""
        out: npt.NDArray[np.int64] = np.asarray(rows, dtype=np.int64)
        if self.meta.moves:
            out = out[self.live_mask()[out]]
        return out

    def _lookup(self) -> tuple[Any, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(sort key, moved ids ascending, their current rows)`` for id lookups.

        Rows appended in id order keep ``ids`` ascending; moved rows break that.  The
        running maximum of ``ids`` is ascending again and equals a paper's id first at
        its in-order row, so a binary search still finds that row; moved papers are then
        redirected to their newest row.
        """

        def make() -> tuple[Any, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
            ids = self.ids
            if self.meta.moves == 0:
                return ids, np.zeros(0, np.int64), np.zeros(0, np.int64)
            _old, new = self.moves()
            moved_ids = np.asarray(ids[new])
            # The last move of a paper names its current row: unique over the reversed list.
            uniq, first_in_reversed = np.unique(moved_ids[::-1], return_index=True)
            current = new[::-1][first_in_reversed]
            return np.maximum.accumulate(ids), uniq.astype(np.int64), current.astype(np.int64)

        out: tuple[Any, npt.NDArray[np.int64], npt.NDArray[np.int64]] = self._cached("lookup", make)
        return out

    def rows_of_ids(self, paper_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Current rows of the given database ids; -1 where a paper is not in the store."""
        wanted = np.asarray(paper_ids, dtype=np.int64)
        ids = self.ids
        if len(ids) == 0 or len(wanted) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        key, moved_ids, moved_rows = self._lookup()
        pos = np.minimum(np.searchsorted(key, wanted), len(ids) - 1)
        out = np.where(ids[pos] == wanted, pos, -1).astype(np.int64)
        if len(moved_ids):
            j = np.minimum(np.searchsorted(moved_ids, wanted), len(moved_ids) - 1)
            hit = moved_ids[j] == wanted
            out[hit] = moved_rows[j[hit]]
        return out

    def rows_tf(self, rows: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """Sublinear term-frequency rows (float32 CSR) for the given store rows."""
        indptr = self._map("indptr", self.meta.rows + 1)
        out_ptr, cols, vals = self._gather(indptr, rows, "indices", "data")
        assert vals is not None
        return sp.csr_matrix(
            (vals, cols, out_ptr), shape=(len(out_ptr) - 1, self.meta.n_features), dtype=np.float32
        )

    def rows_authors(self, rows: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """Binary author rows (float32 CSR over the hashed names) for the given store rows,
        which must be among the first :attr:`StoreMeta.author_rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return sp.csr_matrix((0, AUTHOR_FEATURES), dtype=np.float32)
        if int(rows.max()) >= self.meta.author_rows:
            raise StorageError("these rows have no author rows yet (back-fill them first)")
        indptr = self._map("aindptr", self.meta.author_rows + 1)
        out_ptr, cols, _ = self._gather(indptr, rows, "aindices", None)
        vals = np.ones(len(cols), dtype=np.float32)
        return sp.csr_matrix(
            (vals, cols, out_ptr), shape=(len(rows), AUTHOR_FEATURES), dtype=np.float32
        )

    def author_index_arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """``(indptr, indices)`` of every author row: for a scan by name (memory-mapped)."""
        indptr = self._map("aindptr", self.meta.author_rows + 1)
        return np.asarray(indptr), self._map("aindices", self.meta.author_nnz)

    def _gather(
        self,
        indptr: npt.NDArray[np.int64],
        rows: npt.ArrayLike,
        cols_kind: str,
        vals_kind: str | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32] | None]:
        """CSR pieces ``(indptr, indices, values)`` of some rows of one CSR store."""
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
        vals = None if vals_kind is None else np.empty(int(out_ptr[-1]), dtype=np.float32)
        with (
            open(self._file(cols_kind), "rb") as fi,
            open(self._file(vals_kind or cols_kind), "rb") as fd,
        ):
            for a, b in zip(run_starts, run_ends, strict=True):
                first, count = int(starts[a]), int(ends[b - 1] - starts[a])
                dst = slice(int(out_ptr[a]), int(out_ptr[b]))
                cols[dst] = self._read(fi, np.dtype(np.int32), first, count)
                if vals is not None:
                    vals[dst] = self._read(fd, np.dtype(np.float16), first, count)
        return out_ptr, cols, vals

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
        fingerprints: npt.NDArray[np.int64] | None = None,
        authors: sp.csr_matrix | None = None,
        author_df: DocFreq | None = None,
    ) -> None:
        """Append rows (ids ascending, above ``last_id``) and record the new frequencies.

        ``authors`` (one binary row per paper) and ``author_df`` (the author frequencies
        counting them) are stored while the store's author rows are in step with its rows
        (:attr:`has_all_authors`); otherwise they are left to :meth:`append_authors`.
        """
        if len(paper_ids) == 0:
            return
        if int(paper_ids[0]) <= self.meta.last_id or np.any(np.diff(paper_ids) <= 0):
            raise StorageError("feature store rows must be appended in ascending id order")
        self._write(
            paper_ids, days, tf, df, fingerprints, None, int(paper_ids[-1]), authors, author_df
        )

    def append_moved(
        self,
        replaces: npt.NDArray[np.int64],
        paper_ids: npt.NDArray[np.int64],
        days: npt.NDArray[np.int32],
        tf: sp.csr_matrix,
        df: DocFreq,
        fingerprints: npt.NDArray[np.int64] | None = None,
        authors: sp.csr_matrix | None = None,
        author_df: DocFreq | None = None,
    ) -> None:
        """Append rows out of id order: new features for papers already stored (their
        current row in ``replaces`` is retired), or papers that arrived late (-1).

        ``df`` must already count the new rows and no longer count the retired ones; so
        must ``author_df`` (given whenever the author frequencies changed: retired rows
        that had author rows leave them even while new rows get none, see :meth:`append`).
        """
        if len(paper_ids) == 0:
            return
        replaces = np.asarray(replaces, dtype=np.int64)
        paper_ids = np.asarray(paper_ids, dtype=np.int64)
        if len(replaces) != len(paper_ids) or len(np.unique(paper_ids)) != len(paper_ids):
            raise StorageError("one replaced row per paper, each paper once")
        current = self.rows_of_ids(paper_ids)
        if np.any(current != replaces) or np.any(paper_ids <= 0):
            raise StorageError("a moved row must replace its paper's current row (or -1 if none)")
        first = self.meta.rows
        pairs = np.column_stack((replaces, np.arange(first, first + len(paper_ids))))
        self._write(
            paper_ids, days, tf, df, fingerprints, pairs, self.meta.last_id, authors, author_df
        )

    @property
    def has_all_authors(self) -> bool:
        """Whether every row has its author row (false until a store from before author
        rows is back-filled)."""
        return self.meta.author_rows == self.meta.rows

    def _write(
        self,
        paper_ids: npt.NDArray[np.int64],
        days: npt.NDArray[np.int32],
        tf: sp.csr_matrix,
        df: DocFreq,
        fingerprints: npt.NDArray[np.int64] | None,
        moves: npt.NDArray[np.int64] | None,
        last_id: int,
        authors: sp.csr_matrix | None = None,
        author_df: DocFreq | None = None,
    ) -> None:
        m = self.meta
        with_authors = authors is not None and self.has_all_authors
        if with_authors and (authors is None or authors.shape[0] != len(paper_ids)):
            raise StorageError("one author row per appended row")
        if with_authors and author_df is None:
            raise StorageError("author rows come with the author frequencies that count them")
        self._maps.clear()
        self._derived.clear()
        try:
            # Drop whatever a crashed sync left past the recorded counts, then append.
            for kind in ("ids", "days", "fp"):
                # (Stores from before fingerprints get theirs padded with 0, "unknown".)
                self._truncate(kind, m.rows)
            self._truncate("indices", m.nnz)
            self._truncate("data", m.nnz)
            self._truncate("moves", m.moves)
            with open(self._file("indptr"), "ab") as fh:
                fh.truncate((m.rows + 1) * 8)
            tf = sp.csr_matrix(tf)
            if fingerprints is None:
                fingerprints = np.zeros(len(paper_ids), dtype=np.int64)
            self._append_raw("ids", np.asarray(paper_ids, dtype=np.int64))
            self._append_raw("days", np.asarray(days, dtype=np.int32))
            self._append_raw("fp", np.asarray(fingerprints, dtype=np.int64))
            self._append_raw("indices", tf.indices.astype(np.int32))
            self._append_raw("data", tf.data.astype(np.float16))
            self._append_raw("indptr", (tf.indptr[1:] + m.nnz).astype(np.int64))
            if moves is not None:
                self._append_raw("moves", moves.astype(np.int64).ravel())
            new = replace(
                m,
                rows=m.rows + len(paper_ids),
                nnz=m.nnz + int(tf.nnz),
                last_id=last_id,
                df_docs=df.n_docs,
                moves=m.moves + (0 if moves is None else len(moves)),
                df_gen=self._next_df("df", m.df_gen, df),
            )
            if with_authors:
                assert authors is not None
                new = self._append_author_rows(new, authors)
            if author_df is not None:
                gen = self._next_df("adf", m.author_df_gen, author_df)
                new = replace(new, author_df_docs=author_df.n_docs, author_df_gen=gen)
            self._write_meta(new)
            # Only now are the old generations unreferenced.
            self._df_file(m.df_gen).unlink(missing_ok=True)
            if new.author_df_gen != m.author_df_gen:
                self._df_file(m.author_df_gen, "adf").unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot write the feature store {self.path}: {exc}") from exc

    def _next_df(self, prefix: str, gen: int, df: DocFreq) -> int:
        """Write the next generation of a frequency file (meta.json still names ``gen``)."""
        for stale in self._df_files(prefix):
            # Generations a crashed sync wrote but never recorded.
            if stale != self._df_file(gen, prefix):
                stale.unlink()
        df.counts.astype(np.int32).tofile(self._df_file(gen + 1, prefix))
        return gen + 1

    def _append_author_rows(self, meta: StoreMeta, authors: sp.csr_matrix) -> StoreMeta:
        """Append author rows after the first ``meta.author_rows`` (dropping whatever a
        crash left past them); returns ``meta`` counting them."""
        authors = sp.csr_matrix(authors)
        authors.sum_duplicates()
        if authors.shape[1] != AUTHOR_FEATURES:
            raise StorageError(f"author rows must have {AUTHOR_FEATURES} columns")
        self._truncate("aindices", meta.author_nnz)
        # An absent file (a store from before author rows) grows to one zero: indptr[0].
        self._truncate("aindptr", meta.author_rows + 1)
        self._append_raw("aindices", authors.indices.astype(np.int32))
        self._append_raw("aindptr", (authors.indptr[1:] + meta.author_nnz).astype(np.int64))
        return replace(
            meta,
            author_rows=meta.author_rows + authors.shape[0],
            author_nnz=meta.author_nnz + int(authors.nnz),
        )

    def append_authors(self, authors: sp.csr_matrix, author_df: DocFreq) -> None:
        """Back-fill author rows for the next rows (those after ``author_rows``).

        ``author_df`` must count the live ones among them (and no retired row).
        """
        if authors.shape[0] == 0:
            return
        m = self.meta
        if m.author_rows + authors.shape[0] > m.rows:
            raise StorageError("more author rows than stored papers")
        self._maps.clear()
        try:
            new = self._append_author_rows(m, authors)
            gen = self._next_df("adf", m.author_df_gen, author_df)
            self._write_meta(replace(new, author_df_docs=author_df.n_docs, author_df_gen=gen))
            self._df_file(m.author_df_gen, "adf").unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot write the feature store {self.path}: {exc}") from exc

    def written_at(self) -> datetime | None:
        """When meta.json was last written (None for a store never written)."""
        try:
            return datetime.fromtimestamp(self._file("meta.json").stat().st_mtime, UTC)
        except OSError:
            return None

    def set_changed_since(self, value: str | None) -> None:
        """Record where the check for changed texts stopped (:attr:`StoreMeta.changed_since`)."""
        if value == self.meta.changed_since:
            return
        try:
            self._write_meta(replace(self.meta, changed_since=value))
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
        if not self._writable:
            raise StorageError(f"the feature store {self.path} was opened for reading")
        tmp = self._file("meta.json.tmp")
        tmp.write_text(json.dumps(asdict(meta)))
        os.replace(tmp, self._file("meta.json"))
        self.meta = meta
        self._on_disk_model = meta.model
        self._signature = self._meta_signature()
