"""An inverted-file (IVF) index over the stored embeddings, for nearest neighbours at scale.

A brute-force scan of a million 384-d embeddings reads 768 MB per query; the IVF reads
the few clusters nearest the query instead.  Centroids come from k-means on a sample
and are trained once (again only when the corpus has grown several-fold); new papers
cost one assignment each.

Scoring the candidates is the cost that remains, and on a CPU it is dominated not by the
arithmetic but by widening float16 to float32: numpy does it element by element, 50 ms
for 31k candidates whose dot products take 0.9 ms.  The index therefore keeps its own
copy of every vector as ``int8`` (scaled per dimension): half the bytes of the float16
store, and widened in a few milliseconds.  Candidates are ranked on those codes and the
best few hundred are re-scored exactly by the caller, so the similarities returned are
exact.

Files, all append-only and aligned by store row:

* ``ivf_assign`` ``int16`` — each row's cluster;
* ``ivf_codes`` ``int8`` — each row's vector, ``round(v / scale)``;
* ``ivf_centroids.npy``, ``ivf_scale.npy`` — the trained centroids and per-dimension scale;
* ``ivf.json`` — counts, written last and atomically.  Bytes past its count (a write that
  died half-way) are cut off by the next append; files *shorter* than it says, or
  centroids of the wrong shape, are never trusted: the index resumes from what is
  complete (re-assigning the rest) or, when the centroids are bad or the format is an
  older one, is trained again.  Retraining replaces files instead of truncating them, so
  a process still mapping the old ones keeps reading them.

The rows of each cluster (the inverted lists) are derived from ``ivf_assign`` in memory,
once per process (a stable counting sort: milliseconds at a million rows), and rows
assigned later are looked up in the short tail until the lists are rebuilt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlradar.exceptions import StorageError

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Below this many rows a brute-force scan is as fast as probing clusters.
MIN_ROWS = 50_000
#: Retrain the centroids once the corpus is this many times larger than at training.
REGROW = 4.0
#: Version of the files above; an index of another format is trained again.
FORMAT = 2
#: Rows assigned after the in-memory lists were built, beyond which they are rebuilt.
TAIL_REBUILD = 1 / 16
#: Rows re-scored exactly after ranking by codes, at least (twice the answers wanted else).
SHORTLIST = 200


@dataclass(frozen=True, slots=True)
class IvfMeta:
    n_lists: int
    trained_rows: int
    assigned: int
    dim: int = 0
    format: int = FORMAT


def n_lists_for(rows: int) -> int:
    # About sqrt(n) lists keeps both the centroid scan and each list short.
    return int(min(4096, max(64, 2 ** round(np.log2(max(rows, 1) ** 0.5)))))


def matvec(matrix: npt.NDArray[np.float32], vector: FloatArray) -> FloatArray:
    """``matrix @ vector`` on this thread.

    A query's products are small; handed to a multi-threaded BLAS they wake its threads,
    which on a busy machine spin-wait for a core (measured: 3x slower at load 5 on 2
    cores).  einsum's own loop runs on the calling thread.
    """
    out: FloatArray = np.einsum("ij,j->i", matrix, vector)
    return out


def default_probes(n_lists: int) -> int:
    """Clusters probed per query unless told otherwise: 32 of 256 lists at 75k papers, 64
    of 1,024 at a million, for a recall@20 near 0.9 on short text queries (measured in
    docs/benchmarks.md, "Search at 1M papers"; a query sits between topics, so it needs
    more clusters than a paper's own vector)."""
    return max(32, n_lists // 16)


class IvfIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta: IvfMeta | None = None
        self.centroids: FloatArray | None = None
        self.scale: FloatArray | None = None
        # In-memory inverted lists: rows sorted by cluster, and where each cluster starts.
        self._lists: tuple[int, IntArray, IntArray] | None = None
        self._codes_map: npt.NDArray[np.int8] | None = None
        self._signature: tuple[int, int, int] | None = None
        self._load()

    def _meta_signature(self) -> tuple[int, int, int] | None:
        try:
            st = (self.path / "ivf.json").stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Read the index again if a writer (another process) changed it since."""
        if self._meta_signature() == self._signature:
            return False
        before = self.meta
        self.meta, self.centroids, self.scale = None, None, None
        self._load()
        if self.meta is None or before is None or self.meta.trained_rows != before.trained_rows:
            self._lists, self._codes_map = None, None  # trained again: other clusters
        return True

    def _load(self) -> None:
        meta_file = self.path / "ivf.json"
        self._signature = self._meta_signature()
        if not meta_file.is_file():
            return
        try:
            meta = IvfMeta(**json.loads(meta_file.read_text()))
            if meta.format != FORMAT or meta.dim <= 0:
                return  # another format: trained again on the next sync
            centroids = np.load(self.path / "ivf_centroids.npy")
            scale = np.load(self.path / "ivf_scale.npy")
            if centroids.shape != (meta.n_lists, meta.dim) or scale.shape != (meta.dim,):
                return
            # A file shorter than the count it should hold lost its end: trust only the
            # rows both files hold in full; the next sync assigns the rest again.
            complete = min(
                (self.path / "ivf_assign").stat().st_size // 2,
                (self.path / "ivf_codes").stat().st_size // meta.dim,
            )
        except (ValueError, TypeError, OSError):
            return
        self.meta = replace(meta, assigned=min(meta.assigned, complete))
        self.centroids = centroids.astype(np.float32, copy=False)
        self.scale = scale.astype(np.float32, copy=False)

    @property
    def assigned(self) -> int:
        return 0 if self.meta is None else self.meta.assigned

    def needs_training(self, rows: int, min_rows: int = MIN_ROWS) -> bool:
        if rows < min_rows:
            return False
        return self.meta is None or rows > REGROW * self.meta.trained_rows

    def train(self, blocks: Iterator[tuple[int, npt.NDArray[np.float16]]], rows: int) -> None:
        """Fit centroids on a strided sample of the rows, then forget old assignments."""
        from sklearn.cluster import MiniBatchKMeans  # seconds to import: only to train

        n_lists = n_lists_for(rows)
        step = max(1, rows // (n_lists * 40))
        sample = np.vstack([np.asarray(b[::step], dtype=np.float32) for _, b in blocks])
        km = MiniBatchKMeans(n_clusters=n_lists, random_state=0, batch_size=4096, n_init=1)
        km.fit(sample)
        centroids = km.cluster_centers_.astype(np.float32)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        # The largest magnitude seen per dimension maps to 127; the rare larger value of
        # a later row saturates, which the exact re-scoring of the shortlist absorbs.
        scale = np.maximum(np.abs(sample).max(axis=0), 1e-6).astype(np.float32) / 127.0
        try:
            # Invalidate first: a crash part-way must not pair new centroids with old lists.
            (self.path / "ivf.json").unlink(missing_ok=True)
            np.save(self.path / "ivf_centroids.npy", centroids)
            np.save(self.path / "ivf_scale.npy", scale)
            # New empty files replace the old ones rather than truncating them: a reader
            # still mapping the old file keeps it (truncating a mapped file kills the
            # reader with SIGBUS on its next access).
            for name in ("ivf_assign", "ivf_codes"):
                (self.path / f"{name}.tmp").write_bytes(b"")
                os.replace(self.path / f"{name}.tmp", self.path / name)
            self._write_meta(IvfMeta(n_lists, rows, 0, int(centroids.shape[1])))
        except OSError as exc:
            raise StorageError(f"cannot write the ANN index in {self.path}: {exc}") from exc
        self.centroids, self.scale = centroids, scale
        self._lists, self._codes_map = None, None

    def assign(self, vectors: npt.NDArray[np.float16] | FloatArray) -> None:
        """Record the cluster and code of the next rows (those after :attr:`assigned`)."""
        if self.meta is None or self.centroids is None or self.scale is None:
            return
        if len(vectors) == 0:
            return
        wide = np.asarray(vectors, dtype=np.float32)
        clusters = np.argmax(wide @ self.centroids.T, axis=1).astype(np.int16)
        codes = np.clip(np.rint(wide / self.scale), -127, 127).astype(np.int8)
        m = self.meta
        try:
            # Cut what a crashed append left past the recorded count, then append.
            with open(self.path / "ivf_assign", "ab") as fh:
                fh.truncate(m.assigned * 2)
                clusters.tofile(fh)
            with open(self.path / "ivf_codes", "ab") as fh:
                fh.truncate(m.assigned * m.dim)
                codes.tofile(fh)
            self._write_meta(replace(m, assigned=m.assigned + len(vectors)))
        except OSError as exc:
            raise StorageError(f"cannot write the ANN index in {self.path}: {exc}") from exc

    # -- searching -----------------------------------------------------------------------------

    def _inverted_lists(self) -> tuple[int, IntArray, IntArray]:
        """``(rows covered, rows sorted by cluster, start of each cluster)``."""
        assert self.meta is not None
        built = self._lists
        if built is not None and self.assigned - built[0] <= TAIL_REBUILD * built[0]:
            return built
        n = self.meta.assigned
        assign = np.fromfile(self.path / "ivf_assign", dtype=np.int16, count=n)
        if len(assign) != n:
            raise StorageError(f"the ANN index in {self.path} is damaged: delete it to rebuild")
        order = np.argsort(assign, kind="stable").astype(np.int64)
        starts = np.zeros(self.meta.n_lists + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=self.meta.n_lists), out=starts[1:])
        self._lists = (n, order, starts)
        return self._lists

    def candidates(self, query: FloatArray, n_probe: int) -> IntArray:
        """Rows in the ``n_probe`` clusters nearest to ``query``, ascending."""
        if self.meta is None or self.centroids is None or self.meta.assigned == 0:
            return np.zeros(0, dtype=np.int64)
        probes = np.argsort(-matvec(self.centroids, query), kind="stable")[:n_probe]
        built, order, starts = self._inverted_lists()
        parts = [order[starts[c] : starts[c + 1]] for c in probes]
        if self.meta.assigned > built:
            tail = np.fromfile(
                self.path / "ivf_assign",
                dtype=np.int16,
                count=self.meta.assigned - built,
                offset=built * 2,
            )
            parts.append(np.flatnonzero(np.isin(tail, probes.astype(np.int16))) + built)
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def shortlist(self, query: FloatArray, n_probe: int, size: int) -> IntArray:
        """The ``size`` rows of the probed clusters whose codes score best, best first.

        Scores from the codes are approximate (quantization moves a cosine by about
        0.01); callers re-score the shortlist exactly.
        """
        rows = self.candidates(query, n_probe)
        if len(rows) == 0 or self.meta is None or self.scale is None:
            return rows
        codes = self._codes()
        weights = (query * self.scale).astype(np.float32)
        approx = np.empty(len(rows), dtype=np.float32)
        # Blocks small enough to stay in cache from the gather through the product
        # (measured: 3x less CPU than widening all candidates at once).
        step = 4096
        for i in range(0, len(rows), step):
            block = np.take(codes, rows[i : i + step], axis=0)
            approx[i : i + step] = matvec(block.astype(np.float32), weights)
        if len(rows) > size:
            keep = np.argpartition(-approx, size - 1)[:size]
            rows, approx = rows[keep], approx[keep]
        return rows[np.argsort(-approx, kind="stable")]

    def _codes(self) -> npt.NDArray[np.int8]:
        assert self.meta is not None
        shape = (self.meta.assigned, self.meta.dim)
        if self._codes_map is None or self._codes_map.shape != shape:
            self._codes_map = np.memmap(
                self.path / "ivf_codes", dtype=np.int8, mode="r", shape=shape
            )
        return self._codes_map

    def _write_meta(self, meta: IvfMeta) -> None:
        tmp = self.path / "ivf.json.tmp"
        tmp.write_text(json.dumps(asdict(meta)))
        os.replace(tmp, self.path / "ivf.json")
        self.meta = meta
        self._signature = self._meta_signature()
