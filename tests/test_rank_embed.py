"""Embeddings are optional: a missing extra degrades to lexical; the packaged model runs offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
    embedder = load_embedder(PACKAGED_MODEL, required=True)
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


# -- backends of the packaged model (issue 15 §4) ------------------------------------------------


def test_each_backend_has_its_own_model_name() -> None:
    from mlradar._rank.embed import packaged_backend, packaged_name
    from mlradar._rank.embed_fast import BACKENDS

    names = {packaged_name(b) for b in BACKENDS}
    assert len(names) == len(BACKENDS)  # the index keys its vectors by this name
    assert packaged_name("torch") == PACKAGED_MODEL  # indexes embedded before keep theirs
    for backend in BACKENDS:
        assert packaged_backend(packaged_name(backend)) == backend
    assert packaged_backend(None) == "torch"
    assert packaged_backend("sentence-transformers/foo") is None
    with pytest.raises(InvalidInputError, match="unknown embedding backend"):
        packaged_backend(PACKAGED_MODEL + "@tpu")


def test_the_default_backend_falls_back_to_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlradar._rank import embed, embed_fast

    if packaged_model_path() is None:
        assert embed.default_model_name() is None
        return
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: True)
    assert embed.default_model_name() == embed.packaged_name("bf16")  # a CPU with AMX
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: b != "bf16")
    assert embed.default_model_name() == embed.packaged_name("onnx-int8")
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: b == "torch")
    assert embed.default_model_name() == PACKAGED_MODEL
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: False)
    assert embed.default_model_name() is None


def test_an_index_keeps_the_backend_it_was_embedded_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new default backend must not throw away an index's embeddings (hours for a large
    corpus): with no setting, the backend whose vectors the index holds stays in use."""
    import json

    from mlradar._rank import embed_fast
    from mlradar._rank.embed import model_to_use, packaged_name
    from mlradar._rank.store import embedded_model

    int8 = packaged_name("onnx-int8")
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: True)
    assert model_to_use(None, None, int8) == int8  # a new index takes the default
    assert model_to_use(None, PACKAGED_MODEL, int8) == PACKAGED_MODEL  # embedded on torch
    assert model_to_use("some/model", PACKAGED_MODEL, int8) == "some/model"  # the setting wins
    assert model_to_use(None, "some/model", int8) == int8  # a setting since removed
    assert model_to_use(None, PACKAGED_MODEL + "@tpu", int8) == int8  # unknown backend
    monkeypatch.setattr(embed_fast, "backend_available", lambda b: b != "torch")
    assert model_to_use(None, PACKAGED_MODEL, int8) == int8  # torch gone: re-embed

    store = tmp_path / "papers"
    assert embedded_model(store) is None  # no store yet
    store.mkdir()
    (store / "meta.json").write_text(json.dumps({"model": PACKAGED_MODEL, "dense_rows": 0}))
    assert embedded_model(store) is None  # a model named, nothing embedded yet
    (store / "meta.json").write_text(json.dumps({"model": PACKAGED_MODEL, "dense_rows": 5}))
    assert embedded_model(store) == PACKAGED_MODEL
    (store / "meta.json").write_text("{not json")
    assert embedded_model(store) is None


def test_the_cache_key_follows_the_source_files_and_the_recipe(tmp_path: Path) -> None:
    from mlradar._rank.embed_fast import source_key

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    key = source_key(tmp_path, "onnx")
    assert source_key(tmp_path, "onnx") == key
    assert source_key(tmp_path, "onnx-int8") != key
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert source_key(tmp_path, "onnx") != key


_FAST = pytest.mark.skipif(
    packaged_model_path() is None
    or importlib.util.find_spec("onnxruntime") is None
    or importlib.util.find_spec("sentence_transformers") is None,
    reason="the semantic extra (mlradar[semantic]) is not installed",
)
TEXTS = [
    "Diffusion models for image generation",
    "Denoising diffusion probabilistic models generate images",
    "A survey of tax law in medieval Europe",
    "",
    "Attention is all you need. " * 60,  # past the 128-token limit
]


@pytest.mark.slow
@_FAST
def test_onnx_backends_export_once_and_agree_with_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar._rank import embed_fast
    from mlradar._rank.embed import packaged_name

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLRADAR_MODEL_CACHE", str(tmp_path))
    reference = load_embedder(PACKAGED_MODEL, required=True)
    assert reference is not None
    want = reference.encode(TEXTS)
    # int8 moves short texts most (the empty one: 0.973); real abstracts agree at 0.99.
    for backend, floor in (("onnx", 0.9999), ("onnx-int8", 0.95)):
        embedder = load_embedder(packaged_name(backend), required=True)
        assert embedder is not None
        assert embedder.name == packaged_name(backend)
        got = embedder.encode(TEXTS)
        assert got.shape == (len(TEXTS), 384)
        assert got.dtype == np.float32
        assert np.min(np.sum(got * want, axis=1)) > floor
        # Order in, order out, whatever the length-sorted batches were.
        assert np.allclose(embedder.encode(TEXTS[::-1])[::-1], got, atol=1e-5)
        assert embedder.encode([]).shape == (0, 384)
    exported = sorted(tmp_path.glob("minilm-onnx*/model.onnx"))
    assert len(exported) == 2
    stamps = [p.stat().st_mtime_ns for p in exported]

    def no_export(*_a: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(embed_fast, "_export_onnx", no_export)
    assert load_embedder(packaged_name("onnx-int8"), required=True) is not None
    assert [p.stat().st_mtime_ns for p in exported] == stamps


@pytest.mark.slow
@pytest.mark.skipif(
    packaged_model_path() is None or importlib.util.find_spec("model2vec") is None,
    reason="model2vec is not installed",
)
def test_the_static_backend_distills_offline_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlradar._rank.embed import packaged_name
    from mlradar._rank.embed_fast import STATIC_DIMS

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLRADAR_MODEL_CACHE", str(tmp_path))
    embedder = load_embedder(packaged_name("static"), required=True)
    assert embedder is not None
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), STATIC_DIMS)
    nonzero = np.linalg.norm(vectors, axis=1) > 0
    assert np.allclose(np.linalg.norm(vectors[nonzero], axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    (made,) = tmp_path.glob("minilm-static-*")
    stamp = (made / "model.safetensors").stat().st_mtime_ns
    again = load_embedder(packaged_name("static"), required=True)
    assert again is not None
    assert (made / "model.safetensors").stat().st_mtime_ns == stamp


# -- the bf16 backend: only where the CPU multiplies bfloat16 -----------------------------------


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    from mlradar._rank.embed_fast import cpu_flags

    amx, bare = tmp_path / "amx", tmp_path / "bare"  # one file each: the answer is cached
    amx.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16 amx_tile\nbugs\t\t: spectre\n")
    assert cpu_flags(amx) == {"fpu", "avx2", "amx_bf16", "amx_tile"}
    bare.write_text("processor\t: 0\n")
    assert cpu_flags(bare) == frozenset()
    assert cpu_flags(tmp_path / "missing") == frozenset()  # not Linux: no flags, no bf16


def test_bf16_is_refused_on_a_cpu_without_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlradar._rank import embed_fast
    from mlradar._rank.embed import packaged_name

    monkeypatch.setattr(embed_fast, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert not embed_fast.backend_available("bf16")
    assert load_embedder(packaged_name("bf16")) is None
    with pytest.raises(InvalidInputError, match=r"amx_bf16 \(Intel AMX\); use .*@onnx-int8"):
        load_embedder(packaged_name("bf16"), required=True)


@pytest.mark.slow
@_FAST
def test_bf16_agrees_with_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    """bfloat16 keeps 8 bits of mantissa: the vectors stay within 0.99 of fp32's (0.998 on
    real abstracts), normalized in float32.  Where the CPU has no AMX the backend is not
    offered; the arithmetic is the same, so the test forces it there (slowly)."""
    from mlradar._rank import embed_fast
    from mlradar._rank.embed import packaged_name

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(embed_fast, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    reference = load_embedder(PACKAGED_MODEL, required=True)
    embedder = load_embedder(packaged_name("bf16"), required=True)
    assert reference is not None and embedder is not None
    assert embedder.name == packaged_name("bf16")
    want, got = reference.encode(TEXTS), embedder.encode(TEXTS)
    assert got.shape == (len(TEXTS), 384)
    assert got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(got * want, axis=1)) > 0.99
    assert embedder.encode([]).shape == (0, 384)
