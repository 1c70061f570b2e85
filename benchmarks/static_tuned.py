"""A static model trained on the transformer's own vectors of arXiv papers (issue 15 §4).

    python benchmarks/static_tuned.py --work /work/cache/tuned [--train 20000] [--seed 0]
    mlradar eval --dense --cache-dir /work/cache/tuned/eval-<variant> \
        --embedding-model packaged:all-MiniLM-L6-v2@static --tasks curator,curator-3,author ...

The product's static backend is a plain model2vec distillation: one vector per token of
MiniLM's vocabulary, taken from the transformer with each token alone.  The ``tuned``
backend (``mlradar._rank.embed_tuned``, tokenlearn's method) goes on from there: it
trains those token vectors, and a weight per token, so that the weighted mean of a text's
tokens predicts the transformer's vector of the whole text (after PCA to the static
model's size).

This script measures the product's recipe on the evaluation corpus:

1. the teacher: the tuned backend's teacher (``@onnx-int8``) embeds ``--train`` papers
   drawn at random from ``../shared/data/arxiv/papers.jsonl.gz`` (cached in ``--work``);
2. ``train_tuned``, the product's training (AdamW, MSE, early stop on a held-out tenth),
   from the product's static distillation;
3. every one of the 74,728 papers embedded with the trained model, written where
   ``mlradar eval --cache-dir <work>/eval-<variant>`` finds it under the static
   backend's name.

The teacher's vectors carry no labels (no task, curator pick or author), so training on
papers of the corpus is what the product does on a user's own database
(``mlradar eval --embedding-model packaged:all-MiniLM-L6-v2@tuned --cache-dir ...`` does
the same inside the eval, with the product's evenly spread sample).  Timings of each step
are printed as JSON; the eval rows come from the ``mlradar eval`` command above.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("MLRADAR_SHARED_DATA", "/work/shared/data"))
PAPERS = DATA / "arxiv" / "papers.jsonl.gz"
NAME = "packaged:all-MiniLM-L6-v2@static"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--train", type=int, default=20_000, help="papers the teacher embeds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", default="tuned", help="name of the output folders")
    args = parser.parse_args()

    from mlradar._rank.corpus import content_text, read_snapshot
    from mlradar._rank.embed import packaged_model_path
    from mlradar._rank.embed_fast import StaticEmbedder
    from mlradar._rank.embed_tuned import load_tuned, teacher_vectors, train_tuned
    from mlradar._rank.eval import corpus_fingerprint

    args.work.mkdir(parents=True, exist_ok=True)
    corpus = read_snapshot(PAPERS)
    texts = [content_text(d) for d in corpus.docs]
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(texts), size=min(args.train, len(texts)), replace=False))
    train_txt = [texts[int(i)] for i in rows]
    report: dict[str, object] = {"papers": len(texts), "train": len(rows), "seed": args.seed}

    model_dir = packaged_model_path()
    assert model_dir is not None, "install mlradar[semantic]"
    teacher_path = args.work / f"teacher-{args.seed}-{len(rows)}.npy"
    if teacher_path.is_file():
        train_vec = np.load(teacher_path)
    else:
        started = time.perf_counter()
        train_vec = teacher_vectors(model_dir, train_txt)
        report["teacher_s"] = round(time.perf_counter() - started, 1)
        np.save(teacher_path, train_vec)

    def show(phase: str, done: int, total: int) -> None:
        print(f"{phase} {done}/{total}", flush=True)

    home = args.work / f"home-{args.variant}"
    started = time.perf_counter()
    trained = train_tuned(home, model_dir, train_txt, show, targets=train_vec)
    report["train_s"] = round(time.perf_counter() - started, 1)
    report["training"] = asdict(trained)
    tuned = load_tuned(NAME, home).model
    embedder = StaticEmbedder(NAME, tuned, int(tuned.dim))
    started = time.perf_counter()
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float16)
    for i in range(0, len(texts), 2048):
        vectors[i : i + 2048] = embedder.encode(texts[i : i + 2048])
    seconds = time.perf_counter() - started
    report["embed_s"] = round(seconds, 1)
    report["papers_per_s"] = round(len(texts) / seconds, 1)
    name = NAME.replace("/", "_").replace(":", "_")
    cache = args.work / f"eval-{args.variant}"
    cache.mkdir(exist_ok=True)
    np.save(cache / f"emb-{name}-{corpus_fingerprint(corpus)}.npy", vectors)
    report["load_average"] = os.getloadavg()[0]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
