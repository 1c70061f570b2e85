"""An inverted-file (IVF) index over the stored embeddings, for nearest neighbours at scale.

A brute-force scan of a million 384-d embeddings reads 768 MB per query; the IVF reads
the few clusters nearest the query instead.  Centroids come from k-means on a sample
and are trained once (again only when the corpus has grown several-fold); every row's
cluster is kept in an append-only ``int16`` file, so new papers cost one assignment each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.cluster import MiniBatchKMeans

from mlradar.exceptions import StorageError

FloatArray = npt.NDArray[np.float32]

#: Below this many rows a brute-force scan is as fast as probing clusters.
MIN_ROWS = 50_000
#: Retrain the centroids once the corpus is this many times larger than at training.
REGROW = 4.0


@dataclass(frozen=True, slots=True)
class IvfMeta:
    n_lists: int
    trained_rows: int
    assigned: int


def n_lists_for(rows: int) -> int:
    # About sqrt(n) lists keeps both the centroid scan and each list short.
    return int(min(4096, max(64, 2 ** round(np.log2(max(rows, 1) ** 0.5)))))


class IvfIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta: IvfMeta | None = None
        self.centroids: FloatArray | None = None
        meta_file = path / "ivf.json"
        if meta_file.is_file():
            try:
                self.meta = IvfMeta(**json.loads(meta_file.read_text()))
                self.centroids = np.load(path / "ivf_centroids.npy")
            except (ValueError, TypeError, OSError):
                self.meta, self.centroids = None, None  # rebuilt on the next build()

    @property
    def assigned(self) -> int:
        return 0 if self.meta is None else self.meta.assigned

    def needs_training(self, rows: int, min_rows: int = MIN_ROWS) -> bool:
        if rows < min_rows:
            return False
        return self.meta is None or rows > REGROW * self.meta.trained_rows

    def train(self, blocks: Iterator[tuple[int, npt.NDArray[np.float16]]], rows: int) -> None:
        """Fit centroids on a strided sample of the rows, then forget old assignments."""
        n_lists = n_lists_for(rows)
        step = max(1, rows // (n_lists * 40))
        sample = np.vstack([np.asarray(b[::step], dtype=np.float32) for _, b in blocks])
        km = MiniBatchKMeans(n_clusters=n_lists, random_state=0, batch_size=4096, n_init=1)
        km.fit(sample)
        centroids = km.cluster_centers_.astype(np.float32)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        try:
            np.save(self.path / "ivf_centroids.npy", centroids)
            (self.path / "ivf_assign").write_bytes(b"")
            self._write_meta(IvfMeta(n_lists, rows, 0))
        except OSError as exc:
            raise StorageError(f"cannot write the ANN index in {self.path}: {exc}") from exc
        self.centroids = centroids

    def assign(self, vectors: npt.NDArray[np.float16] | FloatArray) -> None:
        """Record the cluster of the next rows (those after :attr:`assigned`)."""
        if self.meta is None or self.centroids is None or len(vectors) == 0:
            return
        clusters = np.argmax(np.asarray(vectors, dtype=np.float32) @ self.centroids.T, axis=1)
        try:
            with open(self.path / "ivf_assign", "ab") as fh:
                fh.truncate(self.meta.assigned * 2)
                clusters.astype(np.int16).tofile(fh)
            self._write_meta(
                IvfMeta(
                    self.meta.n_lists, self.meta.trained_rows, self.meta.assigned + len(vectors)
                )
            )
        except OSError as exc:
            raise StorageError(f"cannot write the ANN index in {self.path}: {exc}") from exc

    def candidates(self, query: FloatArray, n_probe: int) -> npt.NDArray[np.int64]:
        """Rows in the ``n_probe`` clusters nearest to ``query``, ascending."""
        if self.meta is None or self.centroids is None or self.meta.assigned == 0:
            return np.zeros(0, dtype=np.int64)
        probes = np.argsort(-(self.centroids @ query))[:n_probe].astype(np.int16)
        assign = np.memmap(
            self.path / "ivf_assign", dtype=np.int16, mode="r", shape=(self.meta.assigned,)
        )
        return np.flatnonzero(np.isin(assign, probes)).astype(np.int64)

    def _write_meta(self, meta: IvfMeta) -> None:
        tmp = self.path / "ivf.json.tmp"
        tmp.write_text(json.dumps(asdict(meta)))
        os.replace(tmp, self.path / "ivf.json")
        self.meta = meta
