"""The memory-mapped feature store and the ranking index on top of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from mlradar._model import TextRow
from mlradar._rank.features import AUTHOR_FEATURES, DocFreq, LexicalEncoder, author_rows
from mlradar._rank.index import (
    RankIndex,
    author_columns,
    author_counts,
    channel_lifted,
    fuse_rrf,
    profile_of,
    rank_many,
)
from mlradar._rank.index_query import CHANNEL
from mlradar._rank.models import RankConfig
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


class Clustered(FakeEmbedder):
    """Vectors near one of 8 fixed centres, chosen by the text's last number (mod 8)."""

    dim = 16

    def __init__(self) -> None:
        super().__init__()
        self.rng = np.random.default_rng(0)
        self.centers = self.rng.normal(size=(8, 16)).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.array(
            [self.centers[int(t.split()[-1]) % 8] + 0.05 * self.rng.normal(size=16) for t in texts],
            dtype=np.float32,
        )
        return out / np.linalg.norm(out, axis=1, keepdims=True)


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
    best = np.array([ranked[0][1].row])
    text = next(f"{t}. {b}" for i, t, b, _d in rows(1, 30) if i == ranked[0][1].db_id)
    (shared,) = index.shared_terms(best, [text], profile)
    assert "graph" in " ".join(t.term for t in shared)
    assert sum(t.share for t in shared) <= 1.0 + 1e-6


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


# -- changed texts: new rows for edited papers, old rows retired ------------------------------


def fresh_doc_freq(index: RankIndex, texts: list[str]) -> np.ndarray:
    tf = index.encoder.term_frequencies(texts)
    return index.encoder.empty_df().add(tf).counts


def test_refresh_replaces_a_changed_row_and_retires_the_old_one(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    batch = rows(1, 9)
    index.sync([batch])
    v2 = (4, "zebracorn lattice paper 4", "we study zebracorn lattices", date(2025, 5, 2))
    assert index.refresh([[v2, *batch[:3]]]) == 1  # rows 1-3 unchanged: nothing to do
    assert index.refresh([[v2]]) == 0  # a second refresh does nothing
    assert index.store.meta.rows == 10
    assert index.last_id == 9
    new_row = int(index.rows_of([4])[0])
    assert new_row == 9
    assert list(index.store.retired_rows()) == [3]
    # Every reader sees the live row only.
    assert sorted(index.store.ids[index.window(None, None)]) == list(range(1, 10))
    assert 3 not in set(index.window(None, None))
    assert list(index.window(date(2025, 5, 2), None)) == [new_row]
    assert index.newest_day() == index.days_of(np.array([new_row]))[0]
    assert 3 not in set(index.background(100, np.zeros(0, np.int64)))
    assert list(index.store.rows_of_ids([4, 5, 99])) == [9, 4, -1]
    # Document frequencies count the live texts only: as if the store were built afresh.
    live = [doc_text_of(r) for r in batch if r[0] != 4] + [doc_text_of(v2)]
    df = index.doc_freq()
    assert df.n_docs == 9
    assert np.array_equal(df.counts, fresh_doc_freq(index, live))
    # The new text ranks: a profile of the new words finds the new row.
    pos = index.rows_of([4])
    profile = profile_of([(index, pos, pos[:0])])
    (shared,) = index.shared_terms(pos, [doc_text_of(v2)], profile)
    assert "zebracorn" in " ".join(t.term for t in shared)
    # And it all survives reopening.
    again = RankIndex(tmp_path / "papers")
    assert list(again.rows_of([4])) == [9]
    assert np.array_equal(again.doc_freq().counts, df.counts)
    # Changed again: the chain of moves ends at the newest row.
    v3 = (4, "paper 4 third version", "we study speech recognition", date(2025, 5, 2))
    assert again.refresh([[v3]]) == 1
    assert list(again.rows_of([4])) == [10]
    assert list(again.store.retired_rows()) == [3, 9]
    assert len(again.window(None, None)) == 9


def doc_text_of(row: tuple[int, str, str, date]) -> str:
    return f"{row[1]}. {row[2]}"


def test_a_late_row_below_the_last_id_is_taken_in(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    index.sync([rows(1, 3) + rows(5, 3)])  # id 4 committed late, after the sync
    assert list(index.rows_of([4])) == []
    assert index.refresh([rows(4, 1)]) == 1
    assert list(index.rows_of([4])) == [6]
    assert list(index.store.rows_of_ids([3, 4, 5, 7])) == [2, 6, 3, 5]
    assert index.store.retired_rows().size == 0
    assert index.doc_freq().n_docs == 7
    assert index.sync([rows(8, 1)]) == 1  # in-order appends go on as before
    assert list(index.store.rows_of_ids([4, 8])) == [6, 7]


def test_moved_rows_are_embedded_like_new_rows(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    index = RankIndex(tmp_path / "papers", "fake", fake)
    index.sync([rows(1, 6)])
    # Not embedded yet: the changed row waits at the end, and embed_missing finds its text
    # by id even though it is out of id order.
    v2 = (2, "robot paper 2", "we study robot grasping", date(2025, 5, 1))
    index.refresh([[v2]])
    texts = {r[0]: r for r in rows(1, 6)} | {2: v2}
    assert index.embed_missing(lambda ids: [texts[i] for i in ids]) == 7
    assert index.has_dense
    new_row = index.rows_of([2])
    dense = index.dense(new_row)
    assert dense is not None
    assert np.array_equal(dense[0], fake.encode([doc_text_of(v2)])[0].astype(np.float16))
    # Fully embedded: a change is embedded at once.
    v3 = (3, "graph paper 3", "we study graph neural networks", date(2025, 5, 1))
    index.refresh([[v3]])
    assert index.has_dense
    assert index.store.meta.dense_rows == index.store.meta.rows == 8
    assert index.is_live(np.arange(8)).tolist() == [
        True,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
    ]
    # Nearest neighbours see the new vectors only: each paper once, never a retired row.
    hits = index.semantic_neighbours(fake.encode(["graph"])[0], 8)
    assert len({db_id for db_id, _ in hits}) == len(hits) == 6


def test_moves_and_frequencies_survive_a_crash_half_way(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    index.sync([rows(1, 6)])
    before = index.doc_freq().counts.copy()
    store = index.store

    def boom(meta: object) -> None:
        raise OSError("disk full")

    store._write_meta = boom  # type: ignore[method-assign]
    v2 = (2, "zebracorn paper 2", "we study zebracorn", date(2025, 5, 1))
    with pytest.raises(StorageError):
        index.refresh([[v2]])
    # The files grew, meta.json did not: the reopened store is the one before the crash.
    again = RankIndex(tmp_path / "papers")
    assert again.store.meta.rows == 6
    assert again.store.meta.moves == 0
    assert list(again.rows_of([2])) == [1]
    assert np.array_equal(again.doc_freq().counts, before)
    assert again.refresh([[v2]]) == 1
    assert list(again.rows_of([2])) == [6]
    assert [f.name for f in (tmp_path / "papers").iterdir() if f.name.startswith("df")] == [
        f"df.{again.store.meta.df_gen}"
    ]


def test_a_store_from_before_fingerprints_refreshes_what_it_is_shown(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    index.sync([rows(1, 4)])
    (tmp_path / "papers" / "fp").unlink()  # as the store was before fingerprints
    old = RankIndex(tmp_path / "papers")
    assert list(old.store.fingerprints(np.arange(4))) == [0, 0, 0, 0]
    # Unknown fingerprints cannot vouch for a row: it is featurized again, once.
    assert old.refresh([rows(2, 1)]) == 1
    assert old.refresh([rows(2, 1)]) == 0
    assert old.sync([rows(5, 1)]) == 1
    assert old.store.fingerprints(np.arange(6))[[0, 1, 2, 3]].tolist() == [0, 0, 0, 0]
    assert np.all(old.store.fingerprints(np.arange(4, 6)) != 0)


# -- author rows ---------------------------------------------------------------------------------


def authored(
    rows_: list[tuple[int, str, str, date]], names: dict[int, tuple[str, ...]]
) -> list[TextRow]:
    """The rows with authors: ``names`` by id, "Someone Else" for the others."""
    return [TextRow(*r, names.get(r[0], ("Someone Else",))) for r in rows_]


def fresh_author_freq(index: RankIndex, names: list[tuple[str, ...]]) -> np.ndarray:
    return np.bincount(author_rows(names).indices, minlength=AUTHOR_FEATURES)


def test_author_rows_are_stored_with_the_rows_and_counted_over_live_rows(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers")
    batch = authored(rows(1, 6), {2: ("Ada Lovelace", "Alan Turing"), 5: ("Ada Lovelace",)})
    index.sync([batch])
    assert index.has_authors
    got = index.authors(index.rows_of([2, 5, 1]))
    assert np.array_equal(
        got.toarray(), author_rows([r.authors for r in (batch[1], batch[4], batch[0])]).toarray()
    )
    adf = index.author_doc_freq()
    assert adf.n_docs == 6
    assert np.array_equal(adf.counts, fresh_author_freq(index, [r.authors for r in batch]))
    # Persisted (a generation file, as the term frequencies): the same after reopening.
    again = RankIndex(tmp_path / "papers")
    assert np.array_equal(again.author_doc_freq().counts, adf.counts)
    assert again.authors(again.rows_of([2])).nnz == 2
    # Authors are part of the fingerprint: new names alone re-featurize the row.
    renamed = batch[4]._replace(authors=("Grace Hopper",))
    assert again.refresh([[renamed, *batch[:3]]]) == 1
    assert again.refresh([[renamed]]) == 0
    new_row = again.rows_of([5])
    assert list(new_row) == [6]
    (ada,) = author_columns(["Ada Lovelace"])
    (grace,) = author_columns(["Grace Hopper"])
    assert list(again.authors(new_row).indices) == [grace]
    live = [r.authors for r in batch if r.id != 5] + [renamed.authors]
    adf = again.author_doc_freq()
    assert adf.n_docs == 6
    assert np.array_equal(adf.counts, fresh_author_freq(again, live))
    assert adf.counts[ada] == 1 and adf.counts[grace] == 1
    assert np.array_equal(RankIndex(tmp_path / "papers").author_doc_freq().counts, adf.counts)
    # Plain (id, title, text, day) rows are rows without authors.
    assert again.sync([rows(7, 1)]) == 1
    assert again.authors(again.rows_of([7])).nnz == 0
    assert again.author_doc_freq().n_docs == 7


def on_topic_corpus() -> list[TextRow]:
    """Graph papers 1-6 (positives 1, 2), 20 papers by "Yang Liu" on other topics, and on
    day 2 three graph papers with the same text: by a rare tagged name, by the common
    tagged name, and by strangers."""
    graph = "graph neural networks message passing node classification"
    out = [
        TextRow(i, f"graph paper {i}", f"we study {graph} variant {i}", date(2025, 5, 1), names)
        for i, names in (
            (1, ("Ada Rare", "Yang Liu")),
            (2, ("Ada Rare", "Yang Liu")),
            (3, ("P. One",)),
            (4, ("P. Two",)),
            (5, ("P. Three",)),
            (6, ("P. Four",)),
        )
    ]
    out += [
        TextRow(
            i, f"speech paper {i}", "we study speech recognition", date(2025, 5, 1), ("Yang Liu",)
        )
        for i in range(7, 27)
    ]
    twin = f"we study {graph} at scale"
    out += [
        TextRow(27, "graph scaling", twin, date(2025, 5, 2), ("S. Tranger",)),
        TextRow(28, "graph scaling", twin, date(2025, 5, 2), ("Yang Liu", "S. Tranger")),
        TextRow(29, "graph scaling", twin, date(2025, 5, 2), ("Ada Rare", "S. Tranger")),
    ]
    return out


def test_a_tagged_authors_paper_outranks_a_strangers_and_a_rare_name_lifts_more(
    tmp_path: Path,
) -> None:
    index = RankIndex(tmp_path / "papers")
    index.sync([on_topic_corpus()])
    pos = index.rows_of([1, 2])
    # Fixed weights: the channel's own arithmetic (the learned blend is tested elsewhere).
    profile = profile_of([(index, pos, pos[:0])], RankConfig(learn_blend=False))
    assert profile.author_weights is not None
    cand = index.window(date(2025, 5, 2), None)
    ranked = rank_many(profile, [(index, cand)], 3)
    assert [r.db_id for _, r in ranked] == [29, 28, 27]  # rare tagged name, common, stranger
    by_id = {r.db_id: r for _, r in ranked}
    assert by_id[29].authors > by_id[28].authors > by_id[27].authors == 0.0
    # The same text: the scores differ by the affinity alone.
    lift = profile.config.author_weight * by_id[29].authors
    assert by_id[29].contributions[CHANNEL["authors"]] == pytest.approx(lift, rel=1e-5)
    assert by_id[29].score - by_id[27].score == pytest.approx(lift, rel=1e-4)
    assert list(channel_lifted(ranked, "authors")) == [True, True, False]
    # Without the channel the twins tie and keep their order.
    off = profile_of([(index, pos, pos[:0])], RankConfig(author_weight=0.0, learn_blend=False))
    assert off.author_weights is None
    plain = rank_many(off, [(index, cand)], 3)
    assert [r.db_id for _, r in plain] == [27, 28, 29]
    assert {r.authors for _, r in plain} == {0.0}


def test_papers_and_items_share_one_author_space(tmp_path: Path) -> None:
    papers = RankIndex(tmp_path / "p")
    items = RankIndex(tmp_path / "i")
    papers.sync([on_topic_corpus()])
    # A blog post by the rare author, on another topic than anything tagged.
    items.sync([[TextRow(1, "cooking notes", "bread and soup", date(2025, 5, 2), ("ada  RARE",))]])
    pos = papers.rows_of([1, 2])
    empty = np.zeros(0, np.int64)
    profile = profile_of([(papers, pos, empty), (items, empty, empty)])
    ranked = rank_many(
        profile, [(papers, papers.window(date(2025, 5, 2), None)), (items, items.rows_of([1]))], 4
    )
    post = next(r for part, r in ranked if part == 1)
    assert post.authors > 0  # "ada  RARE" on an item is "Ada Rare" of the papers
    counts = author_counts([(papers, pos), (items, empty)])
    (ada,) = author_columns(["Ada Rare"])
    assert counts[ada] == 2


def strip_authors(path: Path) -> None:
    """Make the store look as one written before author rows existed."""
    meta = json.loads((path / "meta.json").read_text())
    for key in list(meta):
        if key.startswith("author_"):
            del meta[key]
    (path / "meta.json").write_text(json.dumps(meta))
    for f in path.iterdir():
        if f.name in ("aindptr", "aindices") or f.name.split(".")[0] == "adf":
            f.unlink()


def test_a_store_from_before_author_rows_is_back_filled(tmp_path: Path) -> None:
    corpus = on_topic_corpus()
    index = RankIndex(tmp_path / "papers")
    index.sync([corpus[:20]])
    strip_authors(tmp_path / "papers")
    old = RankIndex(tmp_path / "papers")
    assert not old.has_authors
    assert old.store.meta.author_rows == 0
    # Until back-filled, rows keep coming (without author rows) and the channel is off.
    assert old.sync([corpus[20:]]) == 9
    changed = corpus[3]._replace(body="we study speech recognition now")
    assert old.refresh([[changed]]) == 1
    pos = old.rows_of([1, 2])
    assert profile_of([(old, pos, pos[:0])]).author_weights is None
    with pytest.raises(StorageError):
        old.authors(pos)
    names = {r.id: r.authors for r in corpus}
    asked: list[int] = []

    def lookup(ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        asked.extend(ids)
        return {i: names[i] for i in ids if i != 3}  # 3 was deleted since

    assert old.fill_authors(lookup, chunk=7) == 30
    assert old.has_authors
    assert sorted(asked) == sorted(int(i) for i in old.store.ids)  # by id, every row once
    assert old.fill_authors(lookup) == 0
    assert old.authors(old.rows_of([3])).nnz == 0
    assert old.authors(old.rows_of([29])).nnz == 2
    live = [names[i] if i != 3 else () for i in range(1, 30)]
    adf = RankIndex(tmp_path / "papers").author_doc_freq()
    assert adf.n_docs == 29  # the retired row (old text of paper 4) is not counted
    assert np.array_equal(adf.counts, fresh_author_freq(old, live))
    # From now on rows come with their author rows.
    assert old.sync([[TextRow(30, "t", "b", date(2025, 5, 3), ("Ada Rare",))]]) == 1
    assert old.store.meta.author_rows == old.store.meta.rows == 31
    profile = profile_of([(old, pos, pos[:0])])
    assert profile.author_weights is not None
    ranked = rank_many(profile, [(old, old.window(date(2025, 5, 2), None))], 3)
    assert ranked[0][1].db_id in (29, 30)


def test_a_row_retired_while_back_filling_leaves_the_author_frequencies(tmp_path: Path) -> None:
    corpus = on_topic_corpus()
    index = RankIndex(tmp_path / "papers")
    index.sync([corpus])
    strip_authors(tmp_path / "papers")
    old = RankIndex(tmp_path / "papers")
    names = {r.id: r.authors for r in corpus}

    def lookup(ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        return {i: names[i] for i in ids}

    # Half back-filled (as a sync that stopped), then paper 1 changes.
    rows_ = author_rows([names[i] for i in range(1, 11)])
    old.store.append_authors(rows_, DocFreq(np.zeros(AUTHOR_FEATURES, np.int32), 0).add(rows_))
    old = RankIndex(tmp_path / "papers")
    assert old.store.meta.author_rows == 10
    assert old.refresh([[corpus[0]._replace(body="we study robots")]]) == 1
    assert old.author_doc_freq().n_docs == 9
    old.fill_authors(lookup)
    live = [names[i] for i in range(2, 30)] + [names[1]]
    adf = old.author_doc_freq()
    assert adf.n_docs == 29
    assert np.array_equal(adf.counts, fresh_author_freq(old, live))


def test_author_files_follow_the_crash_rule(tmp_path: Path) -> None:
    corpus = on_topic_corpus()
    index = RankIndex(tmp_path / "papers")
    index.sync([corpus[:10]])
    store = index.store
    before = index.author_doc_freq().counts.copy()
    # Bytes a crashed append left past the counts meta.json records.
    with open(tmp_path / "papers" / "aindices", "ab") as fh:
        fh.write(b"\x05" * 12)
    with open(tmp_path / "papers" / "aindptr", "ab") as fh:
        fh.write(b"\x09" * 16)

    def boom(meta: object) -> None:
        raise OSError("disk full")

    store._write_meta = boom  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        index.sync([corpus[10:20]])
    again = RankIndex(tmp_path / "papers")
    assert again.store.meta.rows == again.store.meta.author_rows == 10
    assert np.array_equal(again.author_doc_freq().counts, before)
    assert again.sync([corpus[10:]]) == 19
    fresh = RankIndex(tmp_path / "fresh")
    fresh.sync([corpus])
    every = np.arange(29)
    assert np.array_equal(again.authors(every).toarray(), fresh.authors(every).toarray())
    assert np.array_equal(again.author_doc_freq().counts, fresh.author_doc_freq().counts)
    assert [f.name for f in (tmp_path / "papers").iterdir() if f.name.startswith("adf")] == [
        f"adf.{again.store.meta.author_df_gen}"
    ]


def test_related_candidates_include_papers_by_the_same_authors(tmp_path: Path) -> None:
    index = RankIndex(tmp_path / "papers", "clustered", Clustered())
    index.ann_min_rows = 200
    batch = [
        TextRow(
            i, f"paper {i}", f"text {i}", date(2025, 5, 1), ("Ada Rare",) if i in (8, 13) else ()
        )
        for i in range(1, 401)
    ]
    index.sync([batch])
    index.embed_missing([batch])
    one = index.rows_of([8])  # cluster 0; paper 13 (cluster 5) shares its author
    profile = profile_of([(index, one, one[:0])], RankConfig(linear_weight=0.0))
    no_authors = RankConfig(linear_weight=0.0, author_weight=0.0)
    near = set(index.related_candidates(profile_of([(index, one, one[:0])], no_authors), 20))
    assert int(index.rows_of([13])[0]) not in near
    assert int(index.rows_of([13])[0]) in set(index.related_candidates(profile, shortlist=20))
    # A paper of the same cluster the probe left out gets the author too (a changed row).
    outside = next(i for i in range(16, 401, 8) if int(index.rows_of([i])[0]) not in near)
    assert index.refresh([[batch[outside - 1]._replace(authors=("Ada Rare",))]]) == 1
    profile = profile_of([(index, one, one[:0])], RankConfig(linear_weight=0.0))
    cand = index.related_candidates(profile, shortlist=20)
    assert {int(index.rows_of([i])[0]) for i in (13, outside)} <= set(cand)
    ranked = rank_many(profile, [(index, np.setdiff1d(cand, one))], 3)
    # On topic and by the same rare author: first.  Far off topic: candidate, not related.
    assert ranked[0][1].db_id == outside
    assert 13 not in {r.db_id for _, r in ranked}
