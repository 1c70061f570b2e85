"""Embedding backends of the packaged all-MiniLM-L6-v2, side by side (issue 15 §4).

    python benchmarks/embed_speed.py [--papers 2000] [--repeat 3] [--json]
    python benchmarks/embed_speed.py --full onnx-int8,static [--cache-root /work/cache]

The first form embeds the same real papers (title + abstract, as the product embeds
them) with every candidate, in rounds (each round runs every candidate once, so that a
change of machine load hits them all alike), and prints each one's median papers/s, its
ratio to the torch anchor (sentence-transformers, what the product ran until now), and
its agreement with the torch vectors: mean and 1st-percentile cosine (same space only)
and the overlap of each paper's 10 nearest neighbours among the sample (any space).

``--save-default DIR`` writes the product default's vectors of that corpus (made by
``--full``, or now) as float16 ``DIR/corpus.npy``, rows in database id order (the ids a
fresh ``mlradar arxiv import`` of the snapshot gives, found by importing it into a
temporary database), with ``DIR/ids.tsv`` (row, database id, arXiv id) and ``meta.json``.

``--full`` embeds the whole evaluation corpus (74,728 papers) with the named backends
into ``<cache-root>/emb-<backend>``, where ``mlradar eval --dense --cache-dir`` finds them,
and prints the rate at that scale.  Derived models (the ONNX exports, the static
distillation) are made at first use in ``$MLRADAR_MODEL_CACHE`` and not timed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(os.environ.get("MLRADAR_SHARED_DATA", "/work/shared/data"))
PAPERS = DATA / "arxiv" / "papers.jsonl.gz"


def sample_texts(n: int) -> list[str]:
    """The first ``n`` papers of the snapshot, as the product embeds them."""
    from mlradar._rank.index_base import doc_text

    with gzip.open(PAPERS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in islice(f, n)]
    return [doc_text(r["title"].strip(), r["abstract"].strip()) for r in rows]


def candidates() -> list[tuple[str, str, Callable[[], Any]]]:
    """(label, backend, build) of each candidate; build returns an embedder."""
    from mlradar._rank import embed_fast as ef
    from mlradar._rank.embed import PACKAGED_MAX_TOKENS, load_embedder, packaged_model_path

    path = packaged_model_path()
    assert path is not None, "install mlradar[semantic]"

    def torch_st() -> Any:
        return load_embedder("packaged:all-MiniLM-L6-v2", required=True)

    def torch_bf16() -> Any:
        return load_embedder("packaged:all-MiniLM-L6-v2@bf16", required=True)

    def onnx(quantized: bool, batch: int, sort: bool, threads: int | None = None) -> Any:
        def build() -> Any:
            e = ef.load_onnx("x", path, PACKAGED_MAX_TOKENS, quantized=quantized, threads=threads)
            e.batch_size, e.sort_by_length = batch, sort
            return e

        return build

    return [
        ("torch fp32 (sentence-transformers, batch 64; anchor)", "torch", torch_st),
        ("onnx fp32, unsorted, batch 32", "onnx", onnx(False, 32, False)),
        ("onnx fp32, length-sorted, batch 32", "onnx", onnx(False, 32, True)),
        ("onnx int8, unsorted, batch 32", "onnx-int8", onnx(True, 32, False)),
        ("onnx int8, length-sorted, batch 8", "onnx-int8", onnx(True, 8, True)),
        ("onnx int8, length-sorted, batch 32", "onnx-int8", onnx(True, 32, True)),
        ("onnx int8, length-sorted, batch 128", "onnx-int8", onnx(True, 128, True)),
        ("static (model2vec, 256 dims)", "static", lambda: ef.load_static("x", path)),
        # Offered only where the CPU multiplies bfloat16 (AMX); skipped elsewhere.
        ("torch bf16 weights (sentence-transformers, batch 64)", "bf16", torch_bf16),
    ]


def neighbours(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :k]


def agreement(anchor: np.ndarray, vectors: np.ndarray, anchor_nn: np.ndarray) -> dict[str, Any]:
    nn = neighbours(vectors)
    overlap = float(
        np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(anchor_nn, nn, strict=True)])
    )
    out: dict[str, Any] = {"nn10_overlap": round(overlap, 3)}
    if vectors.shape == anchor.shape:
        cos = np.sum(anchor * vectors, axis=1)
        out["cos_mean"] = round(float(cos.mean()), 5)
        out["cos_p1"] = round(float(np.percentile(cos, 1)), 5)
    return out


def speed(args: argparse.Namespace) -> dict[str, Any]:
    texts = sample_texts(args.papers)
    from mlradar._rank.embed_fast import backend_available

    chosen = [c for c in candidates() if backend_available(c[1])]
    if args.only:
        chosen = [c for c in chosen if any(w in c[0] for w in args.only.split(","))]
    built = []
    for label, backend, build in chosen:
        t = time.perf_counter()
        embedder = build()
        embedder.encode(texts[:64])  # warm: first-call allocations are not the rate
        built.append((label, backend, embedder, time.perf_counter() - t))
        print(f"loaded {label} in {built[-1][3]:.1f}s", file=sys.stderr)
    rates: dict[str, list[float]] = {label: [] for label, *_ in built}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.repeat):
        for label, _backend, embedder, _ in built:
            t = time.perf_counter()
            vectors[label] = embedder.encode(texts)
            rates[label].append(len(texts) / (time.perf_counter() - t))
            print(f"round {round_ + 1}: {label}: {rates[label][-1]:.0f}/s", file=sys.stderr)
    anchor_label = built[0][0]
    anchor = vectors[anchor_label]
    anchor_nn = neighbours(anchor)
    anchor_rate = statistics.median(rates[anchor_label])
    rows = []
    for label, backend, _e, load_s in built:
        median = statistics.median(rates[label])
        rows.append(
            {
                "candidate": label,
                "backend": backend,
                "papers_per_s": round(median, 1),
                "x_torch": round(median / anchor_rate, 2),
                "rates": [round(r, 1) for r in rates[label]],
                "load_s": round(load_s, 1),
                **agreement(anchor, vectors[label], anchor_nn),
            }
        )
    return {"papers": len(texts), "repeat": args.repeat, "rows": rows}


def full(args: argparse.Namespace) -> dict[str, Any]:
    from mlradar._rank import eval as ev
    from mlradar._rank.corpus import read_snapshot
    from mlradar._rank.embed import load_embedder, packaged_name

    corpus = read_snapshot(PAPERS)
    out = []
    for backend in args.full.split(","):
        name = packaged_name(backend)
        load_embedder(name, required=True)  # makes the derived model, untimed
        cache = Path(args.cache_root) / f"emb-{backend}"
        t = time.perf_counter()
        vectors = ev.load_or_embed(
            corpus, cache, name, compute=True, log=lambda m: print(m, file=sys.stderr)
        )
        seconds = time.perf_counter() - t
        assert vectors is not None
        out.append(
            {
                "backend": backend,
                "papers": len(corpus),
                "seconds": round(seconds, 1),
                "papers_per_s": round(len(corpus) / seconds, 1),
                "cache": str(cache),
            }
        )
        print(json.dumps(out[-1]), file=sys.stderr)
    return {"full": out}


def save_default(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    from mlradar._radar import make_radar
    from mlradar._rank import eval as ev
    from mlradar._rank.corpus import read_snapshot
    from mlradar._rank.embed import default_model_name, packaged_backend

    name = default_model_name()
    assert name is not None, "install mlradar[semantic]"
    corpus = read_snapshot(PAPERS)
    cache = Path(args.cache_root) / f"emb-{packaged_backend(name)}"
    vectors = ev.load_or_embed(corpus, cache, name, compute=True)
    assert vectors is not None
    keys = [d.key for d in corpus.docs]
    with tempfile.TemporaryDirectory() as tmp:
        radar = make_radar(f"sqlite:///{tmp}/ids.sqlite")
        radar.import_arxiv_snapshot(PAPERS)
        db_ids = radar._storage.paper_db_ids(keys)
    missing = [k for k in keys if k not in db_ids]
    assert not missing, f"{len(missing)} papers were not imported"
    order = np.argsort([db_ids[k] for k in keys], kind="stable")
    out = Path(args.save_default)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "corpus.npy", np.ascontiguousarray(vectors[order], dtype=np.float16))
    with (out / "ids.tsv").open("w") as f:
        f.write("row\tdb_id\tarxiv_id\n")
        for row, i in enumerate(order):
            f.write(f"{row}\t{db_ids[keys[i]]}\t{keys[i]}\n")
    meta = {"model": name, "n_rows": len(order), "dim": int(vectors.shape[1]), "dtype": "float16"}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return {"saved": str(out), **meta}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="Only candidates whose label contains one of these (a,b).")
    ap.add_argument("--full", help="Backends to embed the whole eval corpus with (a,b).")
    ap.add_argument("--cache-root", default="/work/cache")
    ap.add_argument("--save-default", help="Folder for the default's corpus vectors.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()
    job = save_default if args.save_default else full if args.full else speed
    result = job(args)
    result["load_before"] = [round(x, 2) for x in load]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for row in result.get("rows", []):
        agree = ", ".join(
            f"{k} {row[k]}" for k in ("cos_mean", "cos_p1", "nn10_overlap") if k in row
        )
        print(f"{row['candidate']}: {row['papers_per_s']}/s ({row['x_torch']}x) {agree}")
    for row in result.get("full", []):
        rate = row["papers_per_s"]
        print(f"{row['backend']}: {row['papers']} papers in {row['seconds']}s, {rate}/s")
    print(f"load average before {result['load_before']}, after {result['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
