"""Embeddings are optional: a missing extra degrades to lexical; the packaged model runs offline."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mlradar._rank.embed import PACKAGED_MODEL, load_embedder, packaged_model_path, resolve_model
from mlradar.exceptions import InvalidInputError


def test_a_model_that_cannot_load_degrades_or_raises_when_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = "/nonexistent/model/dir"
    assert load_embedder(missing) is None
    with pytest.raises(InvalidInputError):
        load_embedder(missing, required=True)


def test_resolving_names() -> None:
    assert resolve_model("sentence-transformers/foo") == "sentence-transformers/foo"
    path = packaged_model_path()
    assert resolve_model(None) == (str(path) if path else None)
    assert resolve_model(PACKAGED_MODEL) == resolve_model(None)


@pytest.mark.slow
@pytest.mark.skipif(
    packaged_model_path() is None or importlib.util.find_spec("sentence_transformers") is None,
    reason="the semantic extra (mlradar[semantic]) is not installed",
)
def test_packaged_minilm_embeds_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder(None, required=True)
    assert embedder is not None
    assert embedder.name == PACKAGED_MODEL
    vectors = embedder.encode(
        [
            "Diffusion models for image generation",
            "Denoising diffusion probabilistic models generate images",
            "A survey of tax law in medieval Europe",
        ]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert embedder.encode([]).shape == (0, 384)
