"""Speed and memory of ranking at 75k and 1M papers (the real corpus repeated under fresh ids).

Each phase runs in its own process so that its peak RSS is its own:

    python benchmarks/rank_scale.py --papers 1000000 --work /tmp/mlradar-bench \
        [--embeddings /tmp/emb.npy]

Phases: ``build`` (features for new papers, store size), ``recommend`` (cold and warm,
three window sizes), ``related``, ``semantic`` (the dense half of hybrid search) and
``embed`` (embedding throughput on CPU).  Prints one JSON object per phase.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
#: Each repetition of the corpus is listed this many days before the previous one.
SHIFT_DAYS = 480


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.array(values) * 1000
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


def build(args: argparse.Namespace) -> dict[str, object]:
    from mlradar._rank.corpus import content_text, read_snapshot
    from mlradar._rank.features import AUTHOR_FEATURES, DocFreq, LexicalEncoder, author_rows
    from mlradar._rank.store import FeatureStore

    corpus = read_snapshot(args.data)
    texts = [content_text(d) for d in corpus.docs]
    enc = LexicalEncoder()
    start = time.perf_counter()
    tf = enc.term_frequencies(texts)
    tf_seconds = time.perf_counter() - start
    start = time.perf_counter()
    authors = author_rows(d.authors for d in corpus.docs)
    author_seconds = time.perf_counter() - start
    days = corpus.days
    path = args.work / "papers"
    store = FeatureStore.open(path, enc.config.n_features, "bench" if args.embeddings else None)
    if store.meta.rows:
        raise SystemExit(f"{path} exists: remove it first")
    dense = np.load(args.embeddings, mmap_mode="r") if args.embeddings else None
    n = len(texts)
    reps = -(-args.papers // n)
    df = enc.empty_df()
    adf = DocFreq(np.zeros(AUTHOR_FEATURES, dtype=np.int32), 0)
    start = time.perf_counter()
    written = 0
    # The oldest repetition first: rows are appended in id order, newest papers last.
    for r in reversed(range(reps)):
        take = min(n, args.papers - written)
        block = tf[:take]
        df = df.add(block)
        # The same names on every repetition, as the same text: a repeated corpus.
        block_authors = authors[:take]
        adf = adf.add(block_authors)
        ids = np.arange(written + 1, written + take + 1, dtype=np.int64)
        block_days = (days[:take] - r * SHIFT_DAYS).astype(np.int32)
        store.append(ids, block_days, block, df, None, block_authors, adf)
        if dense is not None:
            rows = np.arange(take) % dense.shape[0]
            store.append_dense(np.asarray(dense[rows], dtype=np.float32))
        written += take
    append_seconds = time.perf_counter() - start
    ann_seconds = None
    if dense is not None:
        from mlradar._rank.index import RankIndex

        start = time.perf_counter()
        RankIndex(path, "bench", None).update_ann()
        ann_seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in path.iterdir())
    author_files = [f for f in path.iterdir() if f.name in ("aindptr", "aindices")]
    author_files += [f for f in path.iterdir() if f.name.split(".")[0] == "adf"]
    return {
        "phase": "build",
        "papers": written,
        "features_papers_per_s": n / tf_seconds,
        "author_rows_papers_per_s": n / author_seconds,
        "authors_per_paper": authors.nnz / n,
        "author_mb": sum(f.stat().st_size for f in author_files) / 2**20,
        "append_papers_per_s": written / append_seconds,
        "ann_build_s": ann_seconds,
        "store_mb": size / 2**20,
        "peak_rss_mb": peak_mb(),
    }


def _positives(index: object, rng: np.random.Generator, k: int) -> np.ndarray:
    rows: int = index.store.meta.rows  # type: ignore[attr-defined]
    return np.sort(rng.choice(rows, size=k, replace=False)).astype(np.int64)


def recommend(args: argparse.Namespace) -> dict[str, object]:
    from mlradar._rank.corpus import day_to_date
    from mlradar._rank.index import RankIndex, profile_of, rank_many

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    index = RankIndex(args.work / "papers", "bench" if args.embeddings else None, None)
    newest = index.newest_day() or 0
    pos = _positives(index, rng, 20)
    t0 = time.perf_counter()
    profile_of([(index, pos, pos[:0])])
    train_ms = (time.perf_counter() - t0) * 1000
    out: dict[str, object] = {"phase": "recommend", "papers": index.store.meta.rows}
    for label, days_back in (("day", 0), ("month", 29), ("all", None)):
        since = None if days_back is None else day_to_date(newest - days_back)
        t0 = time.perf_counter()
        cand = index.window(since, None)
        profile = profile_of([(index, pos, pos[:0])])
        first = rank_many(profile, [(index, np.setdiff1d(cand, pos))], 20)
        cold = time.perf_counter() - (start if label == "day" else t0)
        times = []
        for _ in range(3 if label == "all" else 20):
            # Warm, as a serving process: the trained profile is cached (Radar does this).
            t0 = time.perf_counter()
            cand = index.window(since, None)
            rank_many(profile, [(index, np.setdiff1d(cand, pos))], 20)
            times.append(time.perf_counter() - t0)
        out[label] = {
            "candidates": len(cand),
            "cold_ms": cold * 1000,
            "warm": percentiles(times),
            "dense": index.has_dense,
            "top_is_positive_neighbour": bool(first),
        }
    out["profile_train_ms_first"] = train_ms
    out["peak_rss_mb"] = peak_mb()
    return out


def related(args: argparse.Namespace) -> dict[str, object]:
    from mlradar._rank.index import RankIndex, profile_of, rank_many
    from mlradar._rank.models import RankConfig

    rng = np.random.default_rng(1)
    index = RankIndex(args.work / "papers", "bench" if args.embeddings else None, None)
    times = []
    for _ in range(10):
        one = _positives(index, rng, 1)
        t0 = time.perf_counter()
        profile = profile_of(
            [(index, one, one[:0])], RankConfig(linear_weight=0.0, learn_blend=False)
        )
        # As Radar.related: an embedding shortlist on a large corpus, else every paper.
        cand = np.setdiff1d(index.related_candidates(profile), one)
        rank_many(profile, [(index, cand)], 10)
        times.append(time.perf_counter() - t0)
    return {
        "phase": "related",
        "papers": index.store.meta.rows,
        "shortlist": bool(index.has_dense and index.store.meta.rows >= index.ann_min_rows),
        **percentiles(times),
        "peak_rss_mb": peak_mb(),
    }


def semantic(args: argparse.Namespace) -> dict[str, object]:
    from mlradar._rank.index import RankIndex

    index = RankIndex(args.work / "papers", "bench", None)
    if not index.has_dense:
        return {"phase": "semantic", "skipped": "no embeddings in the store"}
    rng = np.random.default_rng(2)
    times = []
    for _ in range(30):
        row = _positives(index, rng, 1)
        dense = index.dense(row)
        assert dense is not None
        query = dense[0].astype(np.float32)
        t0 = time.perf_counter()
        index.semantic_neighbours(query, 50)
        times.append(time.perf_counter() - t0)
    return {
        "phase": "semantic",
        "papers": index.store.meta.rows,
        **percentiles(times),
        "peak_rss_mb": peak_mb(),
    }


def embed(args: argparse.Namespace) -> dict[str, object]:
    import torch

    from mlradar._rank.corpus import content_text, read_snapshot
    from mlradar._rank.embed import load_embedder

    torch.set_num_threads(args.threads)
    corpus = read_snapshot(args.data, limit=args.embed_papers + 64)
    texts = [content_text(d) for d in corpus.docs]
    embedder = load_embedder(None, required=True)
    assert embedder is not None
    embedder.encode(texts[:64])  # warm-up
    t0 = time.perf_counter()
    embedder.encode(texts[64 : 64 + args.embed_papers])
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    for q in ("diffusion models for video", "retrieval augmented generation evaluation"):
        embedder.encode([q])
    query_ms = (time.perf_counter() - t0) / 2 * 1000
    return {
        "phase": "embed",
        "threads": args.threads,
        "papers_per_s": args.embed_papers / seconds,
        "query_ms": query_ms,
        "peak_rss_mb": peak_mb(),
    }


PHASES = {
    "build": build,
    "recommend": recommend,
    "related": related,
    "semantic": semantic,
    "embed": embed,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mlradar-bench"))
    parser.add_argument("--embeddings", type=Path, default=None, help="A (n, dim) .npy to tile.")
    parser.add_argument("--phase", choices=sorted(PHASES), action="append")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embed-papers", type=int, default=512)
    args = parser.parse_args()
    phases = args.phase or ["build", "recommend", "related", "semantic"]
    if len(phases) == 1:
        print(json.dumps(PHASES[phases[0]](args)), flush=True)
        return
    for phase in phases:
        cmd = [sys.executable, __file__, "--phase", phase, "--papers", str(args.papers)]
        cmd += ["--data", str(args.data), "--work", str(args.work), "--threads", str(args.threads)]
        cmd += ["--embed-papers", str(args.embed_papers)]
        if args.embeddings:
            cmd += ["--embeddings", str(args.embeddings)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
