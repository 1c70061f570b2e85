"""The ``tuned`` backend: a static model trained on the database's own papers.

The ``static`` backend's table comes from MiniLM seeing each token alone, so a text's
vector (the mean of its tokens' vectors) is far from what MiniLM makes of the whole text.
Here that table, and a weight per token, are trained so that the weighted mean of a
paper's token vectors predicts MiniLM's vector of the paper (after PCA to the table's
size): tokenlearn's method (MinishLab, https://minishlab.github.io/tokenlearn_blogpost/).
The teacher is the ``onnx-int8`` backend, run once over a sample of the database's
papers; the student then embeds thousands of papers a second, so a whole arXiv snapshot
takes minutes instead of hours (docs/benchmarks.md, "Issue 15, session 11").

The training loop is written here, on torch, rather than taken from the ``tokenlearn``
package: that package requires ``model2vec[distill]``, which pins transformers below
5.4 and so would downgrade the ``semantic`` extra.

The trained model belongs to the ranking index it was trained for: it is kept in that
index's folder, and its name carries a digest of its table
(``packaged:all-MiniLM-L6-v2@tuned:1a2b3c4d``), so vectors of two trainings never mix:
a retrained model has another name, and the index drops the old vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlradar._rank.embed_fast import (
    STATIC_MAX_TOKENS,
    EmbedderBuildError,
    StaticEmbedder,
    load_onnx,
    static_model_path,
)

#: The folder, inside a ranking index's root, that holds its trained model.
TUNED_DIR = "tuned-model"
#: Papers the teacher embeds (about 3 minutes at 114 papers/s, 7 at 51/s).
TRAIN_PAPERS = 20_000
#: Below this the table would learn the sample, not the field: use ``onnx-int8`` then.
MIN_PAPERS = 2_000
#: Every tenth sampled paper is held out to decide when training stops.
HOLD_OUT_EVERY = 10
MAX_EPOCHS = 40
PATIENCE = 3
#: A held-out loss must fall by this share of itself to count as progress.
MIN_GAIN = 0.005
BATCH = 256
LEARNING_RATE = 1e-3
SEED = 0

#: (phase, done, total): phase "teacher" counts papers, "training" counts epochs (out of
#: MAX_EPOCHS; it may stop early), and "trained" (epochs, epochs) says the model is kept.
TrainingProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What one training did (also written beside the model as ``tuned.json``)."""

    digest: str
    papers: int
    held_out: int
    epochs: int
    held_out_loss: float
    start_loss: float


def training_sample(ids: npt.NDArray[np.int64], n: int = TRAIN_PAPERS) -> npt.NDArray[np.int64]:
    """Up to ``n`` ids spread evenly over ``ids`` (database order, so every period of the
    archive is in the sample), the same ones on every run."""
    if len(ids) <= n:
        return np.asarray(ids, dtype=np.int64)
    picks = np.linspace(0, len(ids) - 1, n).round().astype(np.int64)
    return np.asarray(ids, dtype=np.int64)[np.unique(picks)]


def should_stop(losses: Sequence[float], patience: int = PATIENCE, gain: float = MIN_GAIN) -> bool:
    """Whether training is done, given the held-out loss after each epoch so far: the
    last ``patience`` epochs all failed to beat the best before them by ``gain`` of it."""
    if len(losses) <= patience:
        return False
    best_before = min(losses[:-patience])
    return all(loss > best_before * (1 - gain) for loss in losses[-patience:])


def table_digest(vectors: npt.NDArray[np.float32]) -> str:
    """A short digest of a trained table: the part of the model name that changes with it."""
    return hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()[:8]


def tuned_dir(home: Path) -> Path:
    return home / TUNED_DIR


def trained_digest(home: Path) -> str | None:
    """The digest of the model trained for the index at ``home`` (None: not trained)."""
    try:
        info = json.loads((tuned_dir(home) / "tuned.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = info.get("digest") if isinstance(info, dict) else None
    if not isinstance(digest, str) or not (tuned_dir(home) / "model.safetensors").is_file():
        return None
    return digest


def load_tuned(name: str, home: Path | None) -> StaticEmbedder:
    """The model trained for the index at ``home``, if ``name``'s digest is its digest."""
    wanted = name.partition("@")[2].partition(":")[2] or None
    digest = None if home is None else trained_digest(home)
    if home is None or digest is None:
        raise EmbedderBuildError("the tuned model is not trained yet: run mlradar index --embed")
    if wanted is not None and wanted != digest:
        raise EmbedderBuildError(
            f"the tuned model {wanted} is gone (the index now has {digest}): set embedding_model"
            ' = "packaged:all-MiniLM-L6-v2@tuned" and run mlradar index --embed to embed again'
        )
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(str(tuned_dir(home)))
    return StaticEmbedder(name, model, int(model.dim))


def teacher_vectors(
    model_dir: Path, texts: Sequence[str], progress: TrainingProgress | None = None
) -> npt.NDArray[np.float32]:
    """The ``onnx-int8`` backend's vectors of ``texts``: what the tuned model learns."""
    from mlradar._rank.embed import PACKAGED_MAX_TOKENS

    teacher = load_onnx("teacher", model_dir, PACKAGED_MAX_TOKENS, quantized=True)
    parts = []
    for start in range(0, len(texts), 512):
        parts.append(teacher.encode(texts[start : start + 512]))
        if progress is not None:
            progress("teacher", min(start + 512, len(texts)), len(texts))
    return np.concatenate(parts).astype(np.float32)


def train_tuned(
    home: Path,
    model_dir: Path,
    texts: Sequence[str],
    progress: TrainingProgress | None = None,
    targets: npt.NDArray[np.float32] | None = None,
) -> TrainingReport:
    """Train the tuned model on ``texts`` (a sample of the papers) and keep it in ``home``.

    ``targets`` are the teacher's vectors of the texts, computed here when not given.
    Nothing is written until the model is complete (it appears by one rename), so an
    interrupt leaves the index as it was, and the next run trains again from the start.
    """
    from model2vec import StaticModel

    if len(texts) < MIN_PAPERS:
        raise EmbedderBuildError(
            f"the tuned model learns from at least {MIN_PAPERS:,} papers and the database has"
            f" {len(texts):,}: use packaged:all-MiniLM-L6-v2@onnx-int8 until it has more"
        )
    if targets is None:
        targets = teacher_vectors(model_dir, texts, progress)
    base = StaticModel.from_pretrained(str(static_model_path(model_dir)))
    ids = [
        e.ids[:STATIC_MAX_TOKENS]
        for e in base.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
    ]
    pad = base.tokenizer.token_to_id("[PAD]")
    vectors, losses = fit_table(
        np.asarray(base.embedding, dtype=np.float32),
        0 if pad is None else int(pad),
        ids,
        targets,
        progress,
    )
    report = TrainingReport(
        digest=table_digest(vectors),
        papers=len(texts),
        held_out=len(range(0, len(texts), HOLD_OUT_EVERY)),
        epochs=len(losses),
        held_out_loss=min(losses),
        start_loss=losses[0],
    )
    tuned = StaticModel(vectors=vectors, tokenizer=base.tokenizer, config=base.config)
    home.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=home))
    try:
        tuned.save_pretrained(str(tmp))
        (tmp / "tuned.json").write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes it private; the index folder is as readable as its parent
        _replace_dir(tmp, tuned_dir(home))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if progress is not None:
        progress("trained", report.epochs, report.epochs)
    return report


def _replace_dir(new: Path, target: Path) -> None:
    # A directory cannot be renamed over a non-empty one: the old model steps aside first.
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def fit_table(
    table: npt.NDArray[np.float32],
    pad: int,
    token_ids: Sequence[Sequence[int]],
    targets: npt.NDArray[np.float32],
    progress: TrainingProgress | None = None,
) -> tuple[npt.NDArray[np.float32], list[float]]:
    """Train token vectors and weights so that a text's weighted mean, through a linear
    layer, predicts its target (PCA of the teacher's vector to the table's size).

    Returns the trained table (each row its vector times its weight, so that model2vec's
    plain mean gives the trained mean) and the held-out loss after each epoch.
    """
    import torch
    from sklearn.decomposition import PCA
    from torch.nn.utils.rnn import pad_sequence

    torch.manual_seed(SEED)
    dim = table.shape[1]
    # Unit-norm targets put every coordinate near 1/sqrt(384); PCA's output is scaled to
    # unit variance so that the loss, and MIN_GAIN, mean the same for any teacher.
    components = min(dim, targets.shape[1], len(targets))
    reduced = PCA(n_components=components, random_state=SEED).fit_transform(targets)
    reduced = (reduced / reduced.std()).astype(np.float32)
    held = np.zeros(len(token_ids), dtype=bool)
    held[::HOLD_OUT_EVERY] = True
    tensors = [torch.tensor(list(t) or [pad], dtype=torch.long) for t in token_ids]
    y = torch.from_numpy(reduced)

    weights0 = torch.from_numpy(np.linalg.norm(table, axis=1)).float()
    unit = torch.from_numpy(table) / weights0.clamp_min(1e-12)[:, None]
    # Given its weights (as from_pretrained does, which is untyped), the table draws no
    # random numbers: the output layer's start is the same whatever the table's size.
    embed = torch.nn.Embedding(len(table), dim, padding_idx=pad, _weight=unit.clone())
    weight = torch.nn.Parameter(weights0.clone())
    with torch.no_grad():
        weight[pad] = 0
    out = torch.nn.Linear(dim, y.shape[1])
    params = [*embed.parameters(), weight, *out.parameters()]
    optimizer = torch.optim.AdamW(params, lr=LEARNING_RATE)
    loss_of = torch.nn.MSELoss()

    def forward(batch: Any) -> Any:
        mask = (batch != pad).float()
        w = weight[batch] * mask
        mean = torch.bmm(w[:, None, :], embed(batch)).squeeze(1)
        return out(mean / mask.sum(1).clamp_min(1e-12)[:, None])

    def batches(rows: npt.NDArray[np.int64]) -> Any:
        for start in range(0, len(rows), BATCH):
            chosen = rows[start : start + BATCH]
            x = pad_sequence([tensors[i] for i in chosen], batch_first=True, padding_value=pad)
            yield x, y[torch.from_numpy(chosen)]

    train_rows = np.flatnonzero(~held)
    held_rows = np.flatnonzero(held)
    rng = np.random.default_rng(SEED)
    best: dict[str, Any] | None = None
    losses: list[float] = []
    for epoch in range(1, MAX_EPOCHS + 1):
        for x, target in batches(rng.permutation(train_rows)):
            optimizer.zero_grad()
            loss_of(forward(x), target).backward()
            optimizer.step()
        with torch.no_grad():
            total = sum(
                float(loss_of(forward(x), target)) * len(x) for x, target in batches(held_rows)
            )
        losses.append(total / max(1, len(held_rows)))
        if losses[-1] == min(losses):
            best = {"embed": embed.weight.detach().clone(), "weight": weight.detach().clone()}
        if progress is not None:
            progress("training", epoch, MAX_EPOCHS)
        if should_stop(losses):
            break
    assert best is not None
    vectors = (best["embed"] * best["weight"][:, None]).numpy().astype(np.float32)
    return vectors, losses


__all__ = [
    "MIN_PAPERS",
    "TRAIN_PAPERS",
    "TUNED_DIR",
    "TrainingReport",
    "fit_table",
    "load_tuned",
    "should_stop",
    "table_digest",
    "teacher_vectors",
    "train_tuned",
    "trained_digest",
    "training_sample",
    "tuned_dir",
]
