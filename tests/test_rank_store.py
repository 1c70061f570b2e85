"""The memory-mapped feature store and the ranking index on top of it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from mlradar._rank.features import LexicalEncoder
from mlradar._rank.index import RankIndex, fuse_rrf, profile_of, rank_many
from mlradar._rank.store import FeatureStore
from mlradar.exceptions import StorageError

N_FEATURES = 1 << 20


class FakeEmbedder:
    """A deterministic stand-in: real models are tested in test_rank_embed."""

    name = "fake"
    dim = 4

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t.split()[0] if t.split() else "") % 4] = 1.0
        return out


def rows(start: int, n: int, day: date = date(2025, 5, 1)) -> list[tuple[int, str, str, date]]:
    topics = ["graph neural networks", "speech recognition", "robot grasping"]
    return [
        (start + i, f"{topics[i % 3]} paper {start + i}", f"we study {topics[i % 3]}", day)
        for i in range(n)
    ]


def test_store_round_trips_rows_and_survives_reopening(tmp_path: Path) -> None:
    enc = LexicalEncoder()
    store = FeatureStore.open(tmp_path / "s", N_FEATURES, None)
    tf = enc.term_frequencies(["alpha beta", "gamma delta epsilon", "beta"])
    store.append(np.array([3, 5, 9]), np.array([10, 11, 12], np.int32), tf, enc.empty_df().add(tf))
    again = FeatureStore.open(tmp_path / "s", N_FEATURES, None)
    assert again.meta.rows == 3
    assert again.meta.last_id == 9
    got = again.rows_tf(np.array([2, 0]))
    expected = tf[[2, 0]]
    assert np.allclose(
        got.toarray()[:, expected.indices], expected.toarray()[:, expected.indices], atol=1e-3
    )
    assert list(again.rows_of_ids([5, 4, 9])) == [1, -1, 2]
    assert again.doc_freq().n_docs == 3


def test_store_ignores_what_a_crashed_append_left_behind(tmp_path: Path) -> None:
    enc = LexicalEncoder()
    store = FeatureStore.open(tmp_path / "s", N_FEATURES, None)
    tf = enc.term_frequencies(["one two", "three"])
    store.append(np.array([1, 2]), np.array([1, 1], np.int32), tf, enc.empty_df().add(tf))
    # Half-written rows: bytes appended without a meta.json update.
    with open(tmp_path / "s" / "ids", "ab") as fh:
        fh.write(b"\x07" * 24)
    reopened = FeatureStore.open(tmp_path / "s", N_FEATURES, None)
    assert reopened.meta.rows == 2
    tf2 = enc.term_frequencies(["four"])
    reopened.append(np.array([3]), np.array([2], np.int32), tf2, reopened.doc_freq().add(tf2))
    assert list(FeatureStore.open(tmp_path / "s", N_FEATURES, None).ids) == [1, 2, 3]


def test_store_rejects_ids_out_of_order(tmp_path: Path) -> None:
    enc = LexicalEncoder()
    store = FeatureStore.open(tmp_path / "s", N_FEATURES, None)
    tf = enc.term_frequencies(["a b"])
    store.append(np.array([5]), np.array([1], np.int32), tf, enc.empty_df().add(tf))
    with pytest.raises(StorageError):
        store.append(np.array([4]), np.array([1], np.int32), tf, enc.empty_df().add(tf))


def test_a_damaged_meta_file_rebuilds_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.mkdir()
    (path / "meta.json").write_text("{not json")
    assert FeatureStore.open(path, N_FEATURES, None).meta.rows == 0


def test_index_syncs_incrementally_and_ranks_by_topic(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    assert index.sync([rows(1, 30)]) == 30
    assert index.sync([rows(1, 30)]) == 0  # nothing new
    assert index.sync([rows(31, 6, date(2025, 5, 3))]) == 6
    assert index.last_id == 36
    window = index.window(date(2025, 5, 2), None)
    assert len(window) == 6
    pos = index.rows_of([1, 4])  # graph papers
    profile = profile_of([(index, pos, pos[:0])])
    cand = np.setdiff1d(np.arange(36), pos)
    ranked = rank_many(profile, [(index, cand)], 5)
    assert all((r.db_id - 1) % 3 == 0 for _, r in ranked)  # graph papers again
    terms = index.explain_terms("graph neural networks paper", profile)
    assert "graph" in " ".join(terms)


def test_index_embeds_only_once_asked_and_then_keeps_up(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    index = RankIndex(tmp_path / "papers", "fake", fake)
    index.sync([rows(1, 9)])
    assert not index.has_dense
    assert fake.calls == 0
    assert index.first_unembedded_id == 1
    assert index.embed_missing([rows(1, 9)]) == 9
    assert index.has_dense
    index.sync([rows(10, 3)])
    assert index.has_dense
    assert index.store.meta.dense_rows == 12
    hits = index.semantic_neighbours(fake.encode(["graph"])[0], 3)
    assert len(hits) == 3
    assert hits[0][1] == pytest.approx(1.0)
    # Another model: the old vectors are dropped, the lexical rows kept.
    other = RankIndex(tmp_path / "papers", "other-model", FakeEmbedder())
    assert other.store.meta.rows == 12
    assert not other.has_dense


def test_rank_many_puts_papers_and_items_on_one_scale(tmp_path: Path) -> None:
    papers = RankIndex(tmp_path / "p")
    items = RankIndex(tmp_path / "i")
    papers.sync([rows(1, 12)])
    items.sync([[(1, "robot grasping blog post", "robot grasping robot arm", date(2025, 5, 1))]])
    pos = papers.rows_of([3, 6])  # robots
    profile = profile_of(
        [(papers, pos, pos[:0]), (items, np.zeros(0, np.int64), np.zeros(0, np.int64))]
    )
    ranked = rank_many(
        profile,
        [(papers, np.setdiff1d(np.arange(12), pos)), (items, np.array([0], np.int64))],
        3,
    )
    assert 1 in {part for part, _ in ranked}  # the robot blog post competes and places
    assert fuse_rrf([["x"]])[0][0] == "x"


def test_ann_index_finds_the_nearest_rows_and_keeps_up(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 16)).astype(np.float32)

    class Clustered(FakeEmbedder):
        dim = 16

        def encode(self, texts: list[str]) -> np.ndarray:
            out = np.array(
                [centers[int(t.split()[-1]) % 8] + 0.05 * rng.normal(size=16) for t in texts],
                dtype=np.float32,
            )
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    index = RankIndex(tmp_path / "papers", "clustered", Clustered())
    index.ann_min_rows = 200
    batch = [(i, f"paper {i}", f"text {i}", date(2025, 5, 1)) for i in range(1, 401)]
    index.sync([batch])
    index.embed_missing([batch])
    assert index.ann.meta is not None and index.ann.assigned == 400
    query = Clustered().encode(["q 3"])[0]
    hits = index.semantic_neighbours(query, 10)
    assert len(hits) == 10
    assert all(db_id % 8 == 3 for db_id, _ in hits)  # all from the query's cluster
    brute = index.semantic_neighbours(query, 10, n_probe=index.ann.meta.n_lists)
    assert {h[0] for h in brute} == {h[0] for h in hits}
    index.sync([[(401, "paper 401", "text 3", date(2025, 5, 2))]])
    assert index.ann.assigned == 401  # new rows are assigned as they arrive


def test_an_empty_part_does_not_switch_channels_off(tmp_path: Path) -> None:
    papers = RankIndex(tmp_path / "p")
    items = RankIndex(tmp_path / "i")
    papers.sync([rows(1, 30)])
    pos = papers.rows_of([3, 6, 9])
    empty = np.zeros(0, np.int64)
    profile = profile_of([(papers, pos, empty), (items, empty, empty)])
    assert profile.lex_coef is not None  # the linear channel is trained
    cand = np.setdiff1d(np.arange(30), pos)
    alone = rank_many(profile, [(papers, cand)], 10)
    with_empty = rank_many(profile, [(papers, cand), (items, empty)], 10)
    assert [(p, r.db_id, r.score) for p, r in alone] == [
        (p, r.db_id, r.score) for p, r in with_empty
    ]
    assert papers.channels(profile, cand, use_dense=False).linear is not None
