"""The learned blend: weights from held-out folds of the user's own positives, the author
channel's normalization, and the trained model's cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mlradar._rank.blend import CorpusStats, Rows, fit_profile, fit_weights
from mlradar._rank.models import CHANNELS, RankConfig, author_affinity
from mlradar._rank.profile import Trained, load_trained, save_trained

AUTHORS = CHANNELS.index("authors")


def test_fit_weights_learns_the_channel_that_separates_and_keeps_signs() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = (np.arange(n) < 40).astype(np.float64)
    x = rng.normal(size=(n, len(CHANNELS)))
    x[:, 1] += 3.0 * y  # the linear channel tells positives apart
    x[:, 0] -= 2.0 * y  # this one points the wrong way: worth nothing, never negative
    w = np.ones(n)
    prior = np.ones(len(CHANNELS), dtype=np.float32)
    free = np.ones(len(CHANNELS), dtype=bool)
    free[-1] = False  # an absent channel keeps its prior
    weights = fit_weights(x, y, w, prior, 1.0, free)
    assert weights[1] > 1.5 and weights[1] == max(weights)
    assert weights[0] == 0.0
    assert weights[-1] == pytest.approx(1.0)
    assert np.all(weights >= 0)
    # A strong prior keeps the fixed weights whatever the data says.
    held = fit_weights(x, y, w, prior, 1e6, free)
    assert np.allclose(held, prior, atol=1e-2)


def test_author_affinity_does_not_grow_with_the_author_list() -> None:
    weights = np.zeros(10, dtype=np.float32)
    weights[0] = 5.0  # the followed author
    weights[1:] = 0.5  # common names on many papers
    rows = sp.csr_matrix(
        np.array(
            [
                [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # by the followed author alone
                [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # by them and nine common names
                [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # nine common names only
            ],
            dtype=np.float32,
        )
    )
    summed = author_affinity(rows, weights, "sum")
    top = author_affinity(rows, weights, "top", 3)
    mean = author_affinity(rows, weights, "mean")
    assert summed[2] == pytest.approx(4.5)  # nine weak matches outweigh ...
    assert summed[2] < summed[1]
    assert top.tolist() == pytest.approx([5.0, 6.0, 1.5])  # ... only three count
    assert top[2] < top[0]
    assert mean.tolist() == pytest.approx([5.0, 0.95, 0.5])
    empty = sp.csr_matrix((0, 10), dtype=np.float32)
    assert author_affinity(empty, weights, "top").shape == (0,)


def corpus(n: int = 600) -> tuple[Rows, np.ndarray, np.ndarray]:
    """Papers on two topics; the user's positives are topic 0 by a group of 3 authors."""
    rng = np.random.default_rng(1)
    topic = rng.integers(0, 2, size=n)
    lex = np.abs(rng.normal(size=(n, 50))) * 0.1
    lex[topic == 0, :10] += 1.0
    lex[topic == 1, 10:20] += 1.0
    lex /= np.linalg.norm(lex, axis=1, keepdims=True)
    authors = np.zeros((n, 40), dtype=np.float32)
    authors[np.arange(n), rng.integers(3, 40, size=n)] = 1
    group = np.flatnonzero(topic == 0)[:30]
    authors[group, rng.integers(0, 3, size=len(group))] = 1
    rows = Rows(sp.csr_matrix(lex.astype(np.float32)), None, sp.csr_matrix(authors))
    return rows, group, topic


def test_fit_profile_learns_weights_from_held_out_folds() -> None:
    rows, group, _topic = corpus()
    pos = group[:20]
    bg = np.setdiff1d(np.arange(len(rows)), pos)[:400]
    stats = CorpusStats(None, np.asarray(rows.authors.sum(axis=0)).ravel().astype(np.int32), 600)
    cfg = RankConfig(dense_weight=0.0, linear_min_df=1)
    profile = fit_profile(rows.take(pos), None, rows.take(bg), stats, cfg)
    assert profile.blend is not None and profile.blend.shape == (len(CHANNELS),)
    assert np.all(profile.blend >= 0)
    assert not np.allclose(profile.blend, cfg.fixed_weights())  # the data moved them
    fixed = fit_profile(rows.take(pos), None, rows.take(bg), stats, RankConfig(learn_blend=False))
    assert fixed.blend is None
    # One positive: nothing to hold out, the fixed weights rank.
    single = fit_profile(rows.take(pos[:1]), None, rows.take(bg), stats, cfg)
    assert single.blend is None


def test_trained_models_round_trip_through_their_cache_file(tmp_path: Path) -> None:
    coef = np.zeros(1000, dtype=np.float32)
    coef[[3, 500, 999]] = [0.5, -1.25, 2.0]
    mask = (np.arange(1000) % 3 == 0).astype(np.float32)
    trained = Trained(coef, np.arange(4, dtype=np.float32), mask, np.ones(7, np.float32))
    path = tmp_path / "models" / "k.npz"
    save_trained(path, trained)
    back = load_trained(path)
    assert back is not None
    assert back.lex_coef is not None and np.array_equal(back.lex_coef, coef)
    assert back.lex_mask is not None and np.array_equal(back.lex_mask, mask)
    assert back.dense_coef is not None and np.array_equal(back.dense_coef, trained.dense_coef)
    assert back.blend is not None and np.array_equal(back.blend, trained.blend)
    assert load_trained(tmp_path / "missing.npz") is None
    path.write_bytes(b"not a model")
    assert load_trained(path) is None
    assert [p.name for p in path.parent.iterdir()] == ["k.npz"]  # no temporary left
