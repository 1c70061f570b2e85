"""Fast backends of the packaged all-MiniLM-L6-v2: ONNX Runtime (fp32, int8) and static.

sentence-transformers on torch embeds 13–44 papers a second on two cores, so a 2.4M-paper
snapshot would take days.  These backends run the same weights faster:

* ``onnx``: the model exported to ONNX (mean pooling and normalisation inside the graph)
  and run by ONNX Runtime, texts sorted by length so that each batch pads to its own
  longest text, not to 128 tokens.
* ``onnx-int8``: the same graph with its weights dynamically quantized to int8.
* ``static``: a model2vec distillation (one vector per token, averaged): no network at
  all at encoding time.
* ``tuned``: the static table trained further on the index's own papers, with
  ``onnx-int8`` as the teacher (:mod:`.embed_tuned`).
* ``bf16``: the torch model with its weights in bfloat16, for CPUs that multiply
  bfloat16 in hardware (Intel AMX): faster than int8 there, and closer to fp32.

Nothing is downloaded: each derived model is made from the packaged weights at first use
and kept in the cache folder, under a key of the source model's files and of the recipe,
so that a second run reuses it and new weights (or a new recipe) make a new one.  Each
backend has its own model name (``packaged:all-MiniLM-L6-v2@onnx-int8``): the ranking
index records that name beside its vectors, so vectors of two backends never mix and a
change of backend re-embeds.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import platformdirs

from mlradar._config import APP_NAME
from mlradar.exceptions import InvalidInputError

log = logging.getLogger(__name__)

#: Backends of the packaged model, by the suffix their model names carry.
BACKENDS = ("torch", "onnx", "onnx-int8", "static", "tuned", "bf16")
#: Bumped when an export recipe changes, so that an older export is not reused.
RECIPE_VERSION = "1"
#: Files of the source model that a derived model depends on (the cache key).
SOURCE_FILES = ("config.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json")
#: model2vec's default: PCA to 256 dimensions keeps its quality and shrinks the table.
STATIC_DIMS = 256
#: The static model reads whole abstracts (a token costs a table lookup, not a layer).
STATIC_MAX_TOKENS = 512


class EmbedderBuildError(InvalidInputError):
    """A derived model (ONNX export, static distillation) could not be made."""


def model_cache_dir() -> Path:
    """Where derived models are kept: ``$MLRADAR_MODEL_CACHE`` or the user cache folder."""
    env = os.environ.get("MLRADAR_MODEL_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def source_key(model_dir: Path, recipe: str) -> str:
    """A digest of the source model's files and of the recipe that derives from them."""
    digest = hashlib.sha256(f"{recipe}:{RECIPE_VERSION}".encode())
    for name in SOURCE_FILES:
        path = model_dir / name
        if not path.is_file():
            continue
        digest.update(name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


#: The CPU flag of the bfloat16 matrix unit (Intel AMX), as Linux lists it in /proc/cpuinfo.
BF16_CPU_FLAG = "amx_bf16"


@functools.cache  # asked on every index opening; the CPU does not change under a process
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere, or unreadable)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def backend_available(backend: str) -> bool:
    """Whether the packages a backend needs are importable (without importing them), and
    for ``bf16`` whether the CPU multiplies bfloat16 in hardware (without it, bfloat16
    is emulated and several times slower than fp32: the backend is not offered)."""
    if backend == "bf16" and BF16_CPU_FLAG not in cpu_flags():
        return False
    needs = {
        "torch": ("sentence_transformers",),
        "bf16": ("sentence_transformers",),
        # The export reads the weights with torch; running needs ONNX Runtime only.
        "onnx": ("onnxruntime", "onnx", "torch", "transformers"),
        "onnx-int8": ("onnxruntime", "onnx", "torch", "transformers"),
        "static": ("model2vec",),
        # Trained from the onnx-int8 teacher's vectors (embed_tuned), run by model2vec.
        "tuned": ("model2vec", "onnxruntime", "onnx", "torch", "transformers"),
    }[backend]
    return all(importlib.util.find_spec(n) is not None for n in needs)


# -- ONNX Runtime ----------------------------------------------------------------------------------


@dataclass
class OnnxEmbedder:
    """An exported transformer run by ONNX Runtime, in length-sorted batches."""

    name: str
    session: Any
    tokenizer: Any
    batch_size: int = 32
    dim: int = 384
    #: Sorting by length lets each batch pad to its own longest text only.
    sort_by_length: bool = True

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
        order = (
            np.argsort(-lengths, kind="stable") if self.sort_by_length else np.arange(len(texts))
        )
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                n = int(lengths[r])
                ids[j, :n] = encodings[r].ids
                mask[j, :n] = 1
            (vectors,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[rows] = vectors
        return out


def onnx_model_path(model_dir: Path, quantized: bool, cache: Path | None = None) -> Path:
    """The exported (and, if asked, quantized) model, made at first use and then reused."""
    cache = cache or model_cache_dir()
    fp32 = cache / f"minilm-onnx-{source_key(model_dir, 'onnx')}" / "model.onnx"
    if not fp32.is_file():
        _export_onnx(model_dir, fp32)
    if not quantized:
        return fp32
    int8 = cache / f"minilm-onnx-int8-{source_key(model_dir, 'onnx-int8')}" / "model.onnx"
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        def make(tmp: Path) -> None:
            # Per-channel scales keep the small layers' weights apart (cosine 0.99 to fp32).
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)

        _write_atomically(int8, make)
    return int8


def _export_onnx(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        """The transformer, then sentence-transformers' mean pooling and normalisation."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    example = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}

    def make(tmp: Path) -> None:
        with torch.no_grad():
            # The TorchScript exporter: the dynamo one needs onnxscript, one more package.
            torch.onnx.export(
                Pooled(model),
                (example, example),
                str(tmp),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
                opset_version=17,
            )

    _write_atomically(target, make)


def _write_atomically(target: Path, make: Any) -> None:
    """Make a file beside its final place, then rename: an interrupted export leaves none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        path = Path(tmp) / target.name
        try:
            make(path)
        except Exception as exc:  # torch and onnxruntime raise anything
            raise EmbedderBuildError(f"cannot make {target.name}: {exc}") from exc
        os.replace(path, target)


def load_onnx(
    name: str,
    model_dir: Path,
    max_tokens: int,
    *,
    quantized: bool,
    cache: Path | None = None,
    threads: int | None = None,
) -> OnnxEmbedder:
    """An :class:`OnnxEmbedder` of the packaged model (exporting it first if needed)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    path = onnx_model_path(model_dir, quantized, cache)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    # Logs on stderr at warning level would reach every command's output.
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return OnnxEmbedder(name, session, tokenizer)


# -- static (model2vec) ----------------------------------------------------------------------------


@dataclass
class StaticEmbedder:
    """A model2vec static model: the mean of per-token vectors, normalized."""

    name: str
    model: Any
    dim: int
    batch_size: int = 1024

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(
            self.model.encode(
                list(texts),
                max_length=STATIC_MAX_TOKENS,
                batch_size=self.batch_size,
                show_progress_bar=False,
                # Forking workers from inside a server or a test runner is not worth it:
                # one process already embeds thousands of papers a second.
                use_multiprocessing=False,
            ),
            dtype=np.float32,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def static_model_path(model_dir: Path, cache: Path | None = None) -> Path:
    """The distilled static model's folder, made at first use (about a minute on 2 cores)."""
    cache = cache or model_cache_dir()
    target = cache / f"minilm-static-{source_key(model_dir, f'static-{STATIC_DIMS}')}"
    if (target / "model.safetensors").is_file():
        return target
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise EmbedderBuildError(
            f"the static model is not made yet and cannot be: {exc} (pip install skeletoken)"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent))
    try:
        distill(str(model_dir), pca_dims=STATIC_DIMS).save_pretrained(str(tmp))
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is as readable as its parent
        os.replace(tmp, target)
    except Exception as exc:  # torch and transformers raise anything
        raise EmbedderBuildError(f"cannot distill the static model: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_static(name: str, model_dir: Path, cache: Path | None = None) -> StaticEmbedder:
    """A :class:`StaticEmbedder` of the packaged model (distilling it first if needed)."""
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(str(static_model_path(model_dir, cache)))
    return StaticEmbedder(name, model, int(model.dim))


__all__ = [
    "BACKENDS",
    "EmbedderBuildError",
    "OnnxEmbedder",
    "StaticEmbedder",
    "backend_available",
    "load_onnx",
    "load_static",
    "model_cache_dir",
    "onnx_model_path",
    "source_key",
    "static_model_path",
]
