"""The IVF index: inverted lists kept right through appends, 8-bit codes re-scored
exactly, and damaged files detected and rebuilt rather than trusted."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from mlradar._rank.ann import TAIL_REBUILD, IvfIndex
from mlradar._rank.index import RankIndex

DIM = 24
CENTERS = np.random.default_rng(7).normal(size=(12, DIM)).astype(np.float32)


class Clustered:
    """Texts ``"... <n>"`` embed near centre ``n % 12``, with seeded noise per text."""

    name = "clustered"
    dim = DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        out = []
        for t in texts:
            k = int(t.split()[-1])
            noise = np.random.default_rng(k).normal(size=DIM)
            out.append(CENTERS[k % 12] + 0.35 * noise)
        arr = np.array(out, dtype=np.float32)
        return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def batch(first: int, n: int) -> list[tuple[int, str, str, date]]:
    return [(i, f"paper {i}", f"text {i}", date(2025, 5, 1)) for i in range(first, first + n)]


def make_index(path: Path, rows: int = 1200) -> RankIndex:
    index = RankIndex(path, "clustered", Clustered())
    index.ann_min_rows = 500
    first = batch(1, rows)
    index.sync([first])
    index.embed_missing([first])
    assert index.ann.meta is not None and index.ann.assigned == rows
    return index


def brute_candidates(ann: IvfIndex, query: np.ndarray, n_probe: int) -> np.ndarray:
    assert ann.centroids is not None
    probes = np.argsort(-(ann.centroids @ query), kind="stable")[:n_probe]
    assign = np.fromfile(ann.path / "ivf_assign", dtype=np.int16, count=ann.assigned)
    return np.flatnonzero(np.isin(assign, probes))


def exact(index: RankIndex, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    rows = np.arange(index.store.meta.dense_rows)
    dense = index.store.dense_rows(rows)
    assert dense is not None
    sims = dense.astype(np.float32) @ query
    top = np.argsort(-sims, kind="stable")[:k]
    return [(int(index.store.ids[r]), float(sims[r])) for r in top]


def same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [x for _, x in got] == pytest.approx([x for _, x in want], abs=1e-5)


def queries(n: int = 6) -> np.ndarray:
    return Clustered().encode([f"q {k}" for k in range(10_000, 10_000 + n)])


def test_inverted_lists_stay_right_through_appends(tmp_path: Path) -> None:
    index = make_index(tmp_path / "p")
    ann = index.ann
    q = queries()
    for v in q:
        assert np.array_equal(ann.candidates(v, 4), brute_candidates(ann, v, 4))
    built = ann.assigned
    # A few rows: looked up in the tail of the in-memory lists.
    index.sync([batch(built + 1, 7)])
    assert ann.assigned == built + 7
    for v in q:
        got = ann.candidates(v, 4)
        assert np.array_equal(got, brute_candidates(ann, v, 4))
    assert ann._lists is not None and ann._lists[0] == built
    # Many rows: the lists are rebuilt.
    many = int(TAIL_REBUILD * built) + 50
    index.sync([batch(ann.assigned + 1, many)])
    for v in q:
        assert np.array_equal(ann.candidates(v, 4), brute_candidates(ann, v, 4))
    assert ann._lists is not None and ann._lists[0] == ann.assigned
    # Another process opening the index sees the same lists.
    again = IvfIndex(tmp_path / "p")
    for v in q:
        assert np.array_equal(again.candidates(v, 4), brute_candidates(ann, v, 4))


def test_probing_every_list_is_exact_despite_the_codes(tmp_path: Path) -> None:
    index = make_index(tmp_path / "p")
    assert index.ann.meta is not None
    n_lists = index.ann.meta.n_lists
    for v in queries():
        same(index.semantic_neighbours(v, 10, n_probe=n_lists), exact(index, v, 10))
    # A quarter of the lists finds (almost all of) the same answers on clustered data.
    found = [
        len(
            {i for i, _ in index.semantic_neighbours(v, 10, n_probe=n_lists // 4)}
            & {i for i, _ in exact(index, v, 10)}
        )
        for v in queries()
    ]
    assert sum(found) >= 0.9 * 10 * len(found)


def test_a_truncated_file_is_not_trusted_and_is_repaired(tmp_path: Path) -> None:
    make_index(tmp_path / "p")
    path = tmp_path / "p"
    before = np.fromfile(path / "ivf_assign", dtype=np.int16)
    with open(path / "ivf_codes", "r+b") as fh:
        fh.truncate(1000 * DIM + 5)  # a torn end: 1000 whole rows and a part
    reopened = RankIndex(path, "clustered", Clustered())
    reopened.ann_min_rows = 500
    assert reopened.ann.assigned == 1000
    v = queries(1)[0]
    # Until repaired the index is not used: the answers come from an exact scan.
    same(reopened.semantic_neighbours(v, 10), exact(reopened, v, 10))
    reopened.update_ann()
    assert reopened.ann.assigned == 1200
    assert (path / "ivf_codes").stat().st_size == 1200 * DIM
    assert np.array_equal(np.fromfile(path / "ivf_assign", dtype=np.int16), before)
    n_lists = reopened.ann.meta.n_lists if reopened.ann.meta else 0
    got = reopened.semantic_neighbours(v, 10, n_probe=n_lists)
    assert [i for i, _ in got] == [i for i, _ in exact(reopened, v, 10)]


def test_bytes_left_by_a_crashed_append_are_cut(tmp_path: Path) -> None:
    index = make_index(tmp_path / "p")
    path = tmp_path / "p"
    with open(path / "ivf_assign", "ab") as fh:
        fh.write(b"\x07\x00" * 30)  # cluster 7 for 30 rows the meta never recorded
    with open(path / "ivf_codes", "ab") as fh:
        fh.write(b"\x7f" * DIM * 30)
    reopened = RankIndex(path, "clustered", Clustered())
    reopened.ann_min_rows = 500
    assert reopened.ann.assigned == 1200
    reopened.sync([batch(1201, 3)])
    assert reopened.ann.assigned == 1203
    assert (path / "ivf_assign").stat().st_size == 1203 * 2
    assert (path / "ivf_codes").stat().st_size == 1203 * DIM
    for v in queries():
        assert np.array_equal(reopened.ann.candidates(v, 3), brute_candidates(reopened.ann, v, 3))
    assert index.ann.assigned == 1200  # the first object is stale, not corrupted


@pytest.mark.parametrize("damage", ["centroids", "old-format"])
def test_bad_centroids_or_an_old_format_mean_training_again(tmp_path: Path, damage: str) -> None:
    make_index(tmp_path / "p")
    path = tmp_path / "p"
    if damage == "centroids":
        data = (path / "ivf_centroids.npy").read_bytes()
        (path / "ivf_centroids.npy").write_bytes(data[: len(data) // 2])
    else:
        meta = json.loads((path / "ivf.json").read_text())
        (path / "ivf.json").write_text(
            json.dumps({k: meta[k] for k in ("n_lists", "trained_rows", "assigned")})
        )
    reopened = RankIndex(path, "clustered", Clustered())
    reopened.ann_min_rows = 500
    assert reopened.ann.meta is None
    v = queries(1)[0]
    same(reopened.semantic_neighbours(v, 5), exact(reopened, v, 5))
    assert reopened.sync([]) == 0  # a sync with nothing new still rebuilds the index
    assert reopened.ann.meta is not None and reopened.ann.assigned == 1200
    assert np.array_equal(reopened.ann.candidates(v, 4), brute_candidates(reopened.ann, v, 4))
