"""The tuned backend: a static model trained on the index's own papers (issue 15 §4).

Its decisions (which papers it learns from, when training stops, how its name follows
the trained table) are checked without any model; the training loop on a small problem
with a known answer; and the whole path, from ``embed_rank_index`` to a trained model
named in the index, where model2vec is installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mlradar._rank import embed_tuned as et
from mlradar._rank.embed import needs_training, packaged_backend, packaged_model_path, trained_name
from mlradar._rank.embed_fast import EmbedderBuildError
from mlradar.types import Paper
from tests.arxiv_support import synthetic_papers

TUNED = "packaged:all-MiniLM-L6-v2@tuned"


def test_the_sample_spreads_over_the_whole_archive_and_is_the_same_each_time() -> None:
    ids = np.arange(1, 100_001, dtype=np.int64) * 3
    sample = et.training_sample(ids, 1_000)
    assert len(sample) == 1_000 and len(set(sample.tolist())) == 1_000
    assert sample[0] == ids[0] and sample[-1] == ids[-1]
    gaps = np.diff(sample)
    assert gaps.max() - gaps.min() <= 3  # evenly spaced, so every period is in it
    assert np.array_equal(sample, et.training_sample(ids, 1_000))
    few = ids[:50]
    assert np.array_equal(et.training_sample(few, 1_000), few)


def test_training_stops_when_the_held_out_loss_no_longer_falls() -> None:
    assert not et.should_stop([1.0, 0.9, 0.8], patience=3)
    assert not et.should_stop([1.0, 0.9, 0.8, 0.7], patience=3)
    # Three epochs without beating 0.8 by half a percent: done.
    assert et.should_stop([1.0, 0.9, 0.8, 0.799, 0.81, 0.798], patience=3, gain=0.005)
    # One real gain among the last three keeps it going.
    assert not et.should_stop([1.0, 0.9, 0.8, 0.81, 0.79, 0.805], patience=3, gain=0.005)


def test_the_name_carries_the_trained_tables_digest(tmp_path: Path) -> None:
    assert packaged_backend(TUNED) == "tuned"
    assert packaged_backend(TUNED + ":1a2b3c4d") == "tuned"
    assert needs_training(TUNED) and not needs_training(TUNED + ":1a2b3c4d")
    assert not needs_training("packaged:all-MiniLM-L6-v2@onnx-int8")
    assert trained_name(TUNED, tmp_path) == TUNED  # nothing trained yet
    assert trained_name("packaged:all-MiniLM-L6-v2@static", tmp_path).endswith("@static")
    folder = tmp_path / et.TUNED_DIR
    folder.mkdir()
    (folder / "tuned.json").write_text(json.dumps({"digest": "1a2b3c4d"}))
    assert trained_name(TUNED, tmp_path) == TUNED  # no table beside it: not a model
    (folder / "model.safetensors").write_bytes(b"")
    assert trained_name(TUNED, tmp_path) == TUNED + ":1a2b3c4d"
    a = np.ones((4, 3), dtype=np.float32)
    b = a.copy()
    b[2, 1] = 2
    assert et.table_digest(a) != et.table_digest(b) and len(et.table_digest(a)) == 8


def test_a_model_that_is_gone_or_another_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EmbedderBuildError, match="not trained yet"):
        et.load_tuned(TUNED, tmp_path)
    folder = tmp_path / et.TUNED_DIR
    folder.mkdir()
    (folder / "tuned.json").write_text(json.dumps({"digest": "00000000"}))
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(EmbedderBuildError, match="1a2b3c4d is gone"):
        et.load_tuned(TUNED + ":1a2b3c4d", tmp_path)


def test_the_training_loop_learns_a_known_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setattr(et, "MAX_EPOCHS", 40)
    monkeypatch.setattr(et, "LEARNING_RATE", 1e-2)  # a small problem: few steps an epoch
    rng = np.random.default_rng(1)
    vocab, dim, pad = 60, 8, 0
    truth = rng.normal(size=(vocab, dim)).astype(np.float32)
    truth[pad] = 0
    texts = [rng.integers(1, vocab, size=rng.integers(3, 12)).tolist() for _ in range(1_500)]
    targets = np.stack([truth[t].mean(axis=0) for t in texts]).astype(np.float32)
    start = rng.normal(size=(vocab, dim)).astype(np.float32)  # knows nothing of the truth
    seen: list[tuple[str, int, int]] = []
    table, losses = et.fit_table(start, pad, texts, targets, lambda *a: seen.append(a))
    assert table.shape == (vocab, dim)
    assert losses[-1] < losses[0] / 20
    assert seen[0] == ("training", 1, 40) and len(seen) == len(losses)

    def cosines(rows: np.ndarray) -> np.ndarray:
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return (unit @ unit.T).ravel()

    def agreement(t: np.ndarray) -> float:
        # What the static model serves is the plain mean of a text's rows: the texts'
        # cosines should follow the truth's (the linear layer trained beside it is dropped).
        means = np.stack([t[x].mean(axis=0) for x in texts[:200]])
        return float(np.corrcoef(cosines(means), cosines(targets[:200]))[0, 1])

    assert agreement(start) < 0.2 and agreement(table) > 0.8


def papers(n: int) -> list[Paper]:
    topics = ["graph neural networks", "diffusion models for images", "reinforcement learning"]
    return synthetic_papers(
        n,
        lambda k: f"{topics[k % 3].capitalize()}, study {k}",
        lambda k: f"We study {topics[k % 3]} in setting {k}.",
    )


@pytest.mark.slow
@pytest.mark.skipif(
    packaged_model_path() is None
    or importlib.util.find_spec("model2vec") is None
    or importlib.util.find_spec("skeletoken") is None,
    reason="the tuned backend needs model2vec and skeletoken",
)
def test_index_embed_trains_the_model_once_and_names_the_vectors_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar._papers import store_papers
    from mlradar._radar import make_radar

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLRADAR_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setattr(et, "MIN_PAPERS", 30)
    monkeypatch.setattr(et, "MAX_EPOCHS", 3)
    r = make_radar(f"sqlite:///{tmp_path / 'radar.db'}", embedding_model=TUNED)
    store_papers(r._storage, papers(20))
    with pytest.raises(EmbedderBuildError, match="at least 30 papers"):
        r.embed_rank_index()
    store_papers(r._storage, papers(45))
    phases: list[str] = []
    assert r.embed_rank_index(training=lambda phase, *_: phases.append(phase)) == 45
    assert phases[0] == "teacher" and phases[-2:] == ["training", "trained"]
    home = r._rank_root()
    digest = et.trained_digest(home)
    assert digest is not None
    index = r._open_indexes(writable=False)["papers"]
    assert index.store.meta.model == f"{TUNED}:{digest}"
    assert index.store.meta.dense_rows == 45
    phases.clear()
    assert r.embed_rank_index(training=lambda phase, *_: phases.append(phase)) == 0
    assert phases == []  # trained once
    embedder = index.embedder
    assert embedder is not None
    v = embedder.encode(["diffusion models for images", "graph neural networks"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
