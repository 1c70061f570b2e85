"""Search latency at 75k and 1M papers: the full-text half, the semantic half, and
``Radar.search`` (the two fused), on the embedded default (SQLite).

    python benchmarks/search_scale.py build --papers 1000000 --work /work/cache/search/1m \
        --embeddings /work/cache/emb/emb-packaged-<fingerprint>.npy
    python benchmarks/search_scale.py query --work /work/cache/search/1m --legacy
    python benchmarks/search_scale.py fulltext --url postgresql+psycopg://.../db

``build`` makes (or reuses) ``<work>/radar.sqlite``: the real corpus
(``../shared/data/arxiv/papers.jsonl.gz``, 74,728 papers) imported through the product
(``Radar.import_arxiv_snapshot``, as ``mlradar arxiv import``), repeated under fresh
arXiv ids up to ``--papers``; then the ranking index through the product
(``Radar.sync_rank_index``), then embeddings.  Embedding a million papers with MiniLM on
two CPU cores takes most of a day, so the embeddings of the 74,728 real papers
(``--embeddings``: float16 rows in corpus order, as ``mlradar eval --dense`` caches them)
are tiled: every copy of a paper gets its original's vector, which is exactly what the
real model gives a repeated text.  Then the IVF index is built as ``Radar`` builds it.

``query`` runs a fixed, seeded set of 200 realistic queries (``queries`` prints them:
1-4 word runs of real titles, common and rare single words, phrases in quotes, OR,
-exclusions, prefixes) in one warm process and prints one JSON object: p50 / p95 / max
(wall and process CPU time) of the full-text half (storage search, with and without the
bound on ranked matches), of the query's embedding alone, of the ANN probe, of the whole
semantic half (embedding + ANN + record lookup) and of ``Radar.search`` (its halves run
concurrently and one after the other); the ANN's recall@20 against an exact scan for
several probe counts; peak RSS.  ``--legacy`` also times the code before these changes
(commit db17181: its full-text statement, IVF probe and query embedding) in the same
process and compares the answers; ``--dump`` writes every query's hits.

``fulltext`` times the full-text half alone (new, unbounded, before) on any database.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import random
import re
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
WARMUP = 10
_STOP_WORDS = (
    "a an and are as at be by for from has have in into is it its of on or our over the "
    "their this to towards toward under using via vs we what when where which while with "
    "without can do does how not new more than through between based beyond "
)
STOP = frozenset(_STOP_WORDS.split())


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stats(seconds: list[float]) -> dict[str, float]:
    arr = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "max_ms": round(float(arr.max()), 2),
    }


def db_url(work: Path) -> str:
    return f"sqlite:///{work / 'radar.sqlite'}"


def raw_records(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def tiled_file(data: Path, n: int, target: Path) -> Path:
    """``n`` records: the real file repeated, each copy after the first under fresh ids."""
    records = raw_records(data)
    with gzip.open(target, "wb", compresslevel=1) as out:
        for i in range(n):
            r = dict(records[i % len(records)])
            if i >= len(records):
                # New-style ids from 4001.00000 on (100,000 a month): valid, and no real
                # paper has one.
                block, number = divmod(i, 100_000)
                year, month = divmod(block, 12)
                r["id"] = f"{40 + year:02d}{month + 1:02d}.{number:05d}"
            out.write(orjson.dumps(r) + b"\n")
    return target


def original_index(arxiv_id: str, real: dict[str, int], n_real: int) -> int:
    """The index (in the real file) of the record a stored paper copies."""
    if arxiv_id in real:
        return real[arxiv_id]
    yymm, number = arxiv_id.split(".")
    year, month = int(yymm[:2]) - 40, int(yymm[2:]) - 1
    return ((year * 12 + month) * 100_000 + int(number)) % n_real


# -- build ---------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from mlradar._radar import make_radar
    from mlradar._rank.corpus import read_snapshot

    args.work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"phase": "build", "work": str(args.work)}
    # --url builds a PostgreSQL database the same way (its ranking index in the cache).
    radar = make_radar(args.url or db_url(args.work))
    with radar._storage.read() as conn:
        stored = int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
    if stored < args.papers:
        records = raw_records(args.data)
        source = args.data
        if args.papers > len(records):
            source = tiled_file(args.data, args.papers, args.work / "papers-tiled.jsonl.gz")
        t0 = time.perf_counter()
        summary = radar.import_arxiv_snapshot(source)
        out["import_s"] = round(time.perf_counter() - t0, 1)
        out["import_new"] = summary.new
        if source != args.data:
            source.unlink()
    with radar._storage.read() as conn:
        out["papers"] = int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())

    t0 = time.perf_counter()
    out["rank_rows_added"] = radar.sync_rank_index()
    out["rank_sync_s"] = round(time.perf_counter() - t0, 1)

    if args.embeddings is not None:
        out |= _embed_tiled(radar, args, read_snapshot)
    from mlradar._radar._index import rank_dir_for

    db = args.work / "radar.sqlite"
    if not args.url:
        out["db_mb"] = round(db.stat().st_size / 2**20)
    rank = rank_dir_for(args.url or db_url(args.work)) / "papers"
    out["rank_store_mb"] = round(sum(f.stat().st_size for f in rank.iterdir()) / 2**20)
    out["peak_rss_mb"] = round(peak_mb())
    return out


def _embed_tiled(radar: Any, args: argparse.Namespace, read_snapshot: Any) -> dict[str, Any]:
    vectors = np.load(args.embeddings, mmap_mode="r")
    corpus = read_snapshot(args.data)
    if vectors.shape[0] != len(corpus):
        raise SystemExit(f"{args.embeddings}: {vectors.shape[0]} rows, corpus has {len(corpus)}")
    out: dict[str, Any] = {}
    # The ranking index is written only through the writers' path (lock held, opened
    # writable), as the product's own writers do.
    radar._writing(lambda indexes: _embed_into(radar, indexes, args, vectors, corpus, out))
    radar._rank_indexes = None
    return out


def _embed_into(
    radar: Any,
    indexes: dict[str, Any],
    args: argparse.Namespace,
    vectors: np.ndarray,
    corpus: Any,
    out: dict[str, Any],
) -> int:
    from sqlalchemy import text

    ix = indexes["papers"]
    store = ix.store
    marker = store.path / "bench-embeddings.json"
    source = {"file": str(args.embeddings), "size": args.embeddings.stat().st_size}
    if marker.is_file() and json.loads(marker.read_text()) != source:
        # Other vectors than last time: start the dense rows and the IVF over.
        store._truncate("dense", 0)
        store._write_meta(dataclasses.replace(store.meta, dense_rows=0))
        for name in os.listdir(store.path):
            if name.startswith("ivf"):
                (store.path / name).unlink()
    row_of_key = {d.key: i for i, d in enumerate(corpus.docs)}
    records = raw_records(args.data)
    real = {str(r["id"]): i for i, r in enumerate(records)}
    corpus_row_of_raw = np.array([row_of_key[str(r["id"])] for r in records], dtype=np.int64)
    t0 = time.perf_counter()
    start = store.meta.dense_rows
    chunk = 100_000
    while start < store.meta.rows:
        ids = np.asarray(store.ids[start : start + chunk])
        with radar._storage.read() as conn:
            found = dict(
                conn.execute(
                    text("SELECT id, arxiv_id FROM papers WHERE id BETWEEN :a AND :b"),
                    {"a": int(ids[0]), "b": int(ids[-1])},
                ).all()
            )
        raw = np.array([original_index(found[int(i)], real, len(records)) for i in ids])
        # Through the store's own append path, so the files are what a real embed writes.
        store.append_dense(np.asarray(vectors[corpus_row_of_raw[raw]], dtype=np.float32))
        start = store.meta.dense_rows
    out["dense_append_s"] = round(time.perf_counter() - t0, 1)
    marker.write_text(json.dumps(source))
    t0 = time.perf_counter()
    ix.update_ann()
    out["ann_build_s"] = round(time.perf_counter() - t0, 1)
    out["has_dense"] = ix.has_dense
    out["ann_lists"] = None if ix.ann.meta is None else ix.ann.meta.n_lists
    return 0


# -- queries -------------------------------------------------------------------------------


def make_queries(data: Path, n: int, seed: int) -> list[str]:
    """A fixed set of realistic queries: hand-picked classics plus phrases from real titles."""
    rng = random.Random(seed)
    titles = [str(r["title"]) for r in raw_records(data)]
    words_of = [
        [w for w in re.findall(r"[a-z][a-z0-9\-]+", t.lower()) if len(w) > 1] for t in titles
    ]
    freq = Counter(w for ws in words_of for w in set(ws) if w not in STOP)
    common = [w for w, _ in freq.most_common(200)]
    rare = sorted(w for w, c in freq.items() if 3 <= c <= 10 and "-" not in w)
    fixed = [
        "diffusion models",
        "graph neural network",
        "reinforcement learning from human feedback",
        "transformer",
        "large language models",
        "retrieval augmented generation",
        '"vision transformer"',
        "llm OR agent",
        "diffusion -video",
        "segment*",
        "learning",
        "protein structure prediction",
    ]
    queries = list(fixed)

    def phrase(k: int) -> str:
        while True:
            ws = rng.choice(words_of)
            if len(ws) < k:
                continue
            i = rng.randrange(len(ws) - k + 1)
            pick = ws[i : i + k]
            if pick[0] not in STOP and pick[-1] not in STOP:
                return " ".join(pick)

    budget = n - len(fixed)
    plan = [
        ("common", budget * 15 // 100),
        ("rare", budget * 10 // 100),
        ("two", budget * 30 // 100),
        ("three", budget * 15 // 100),
        ("four", budget * 10 // 100),
        ("quoted", budget * 8 // 100),
        ("or", budget * 5 // 100),
        ("not", budget * 4 // 100),
    ]
    plan.append(("two", budget - sum(c for _, c in plan)))

    def draw(kind: str) -> str:
        if kind == "common":
            return rng.choice(common)
        if kind == "rare":
            return rng.choice(rare)
        if kind in ("two", "three", "four"):
            return phrase({"two": 2, "three": 3, "four": 4}[kind])
        if kind == "quoted":
            return f'"{phrase(2)}"'
        if kind == "or":
            return f"{rng.choice(common)} OR {rng.choice(common)}"
        return f"{rng.choice(common)} -{rng.choice(common)}"

    for kind, count in plan:
        for _ in range(count):
            q = draw(kind)
            while q in queries:  # distinct queries: a repeat would only measure a cache
                q = draw(kind)
            queries.append(q)
    return queries


def legacy_text(query_text: str) -> str:
    """The query rewritten so that today's parser reads it as the code before did:
    function words kept.  (A quoted lone word is kept, and renders exactly as the old
    parser rendered the bare word.)"""
    from mlradar._storage._query import STOP_WORDS

    words, quoted = [], False
    for w in query_text.split():
        if not quoted and w != "OR" and w.lower() in STOP_WORDS:
            w = f'"{w}"'
        quoted ^= w.count('"') % 2 == 1
        words.append(w)
    return " ".join(words)


def legacy_match(query_text: str, dialect: str) -> str:
    from mlradar._storage._query import parse_query, to_fts5, to_tsquery

    query = parse_query(legacy_text(query_text))
    return to_fts5(query) if dialect == "sqlite" else to_tsquery(query)


def legacy_fulltext(storage: Any, query_text: str, limit: int = 20) -> list[str]:
    """The papers half of the full-text search as it was before (commit db17181), for a
    side-by-side measurement: score, snippet and columns computed in one SELECT, so for
    every match before the sort."""
    from sqlalchemy import text

    if storage.dialect == "sqlite":
        sql = (
            "SELECT t.arxiv_id, -bm25(papers_fts, 10.0, 3.0, 1.0) AS score, "
            "snippet(papers_fts, 2, '[', ']', '…', 24) AS snippet FROM papers AS t "
            "JOIN papers_fts ON papers_fts.rowid = t.id WHERE papers_fts MATCH :q "
            "ORDER BY score DESC LIMIT :limit"
        )
    else:
        tsq = "to_tsquery('english', :q)"
        sql = (
            f"SELECT t.arxiv_id, ts_rank_cd('{{0.0, 0.1, 0.3, 1.0}}', t.search_vector, {tsq}) "
            f"AS score, ts_headline('english', coalesce(t.abstract, ''), {tsq}, "
            "'StartSel=[, StopSel=], MaxWords=24, MinWords=8, MaxFragments=1') AS snippet "
            f"FROM papers AS t WHERE t.search_vector @@ {tsq} ORDER BY score DESC LIMIT :limit"
        )
    params = {"q": legacy_match(query_text, storage.dialect), "limit": limit}
    with storage.read() as conn:
        rows = conn.execute(text(sql), params).all()
    return [f"paper:{r.arxiv_id}:{r.score:.6g}" for r in rows]


def legacy_neighbours(ix: Any, q: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The IVF probe as it was before: ``np.isin`` over every row's cluster, then every
    candidate's float16 vector widened and scored (same clusters, same probes)."""
    ann = ix.ann
    probes = np.argsort(-(ann.centroids @ q))[: max(8, ann.meta.n_lists // 32)].astype(np.int16)
    assign = np.memmap(ann.path / "ivf_assign", dtype=np.int16, mode="r", shape=(ann.assigned,))
    rows = np.flatnonzero(np.isin(assign, probes)).astype(np.int64)
    sims = ix.store.dense_rows(rows).astype(np.float32) @ q
    top = np.argsort(-sims, kind="stable")[:limit]
    return [(int(ix.store.ids[rows[i]]), float(sims[i])) for i in top]


def legacy_search(radar: Any, ix: Any, query_text: str) -> list[str]:
    """``Radar.search`` as it was before, in this process: the old full-text statement,
    then the query embedded, the old IVF probe, the records looked up, and RRF."""
    from mlradar._rank.index import fuse_rrf

    lexical = legacy_fulltext(radar._storage, query_text)
    if not ix.has_dense:
        return lexical
    vector = ix.embedder.encode([query_text])[0]  # as before: torch's default threads
    near = legacy_neighbours(ix, vector, 20)
    papers = radar._storage.papers_by_db_ids([i for i, _ in near])
    radar._storage.papers_by_ids([a for a, _ in papers.values()])
    semantic = [f"paper:{papers[i][0]}" for i, _ in near if i in papers]
    keys = [":".join(h.split(":")[:2]) for h in lexical]
    return [k for k, _ in fuse_rrf([keys, semantic])[:20]]


def _titles(hits: list[str]) -> set[str]:
    return {h.split(":", 3)[3] for h in hits}


def _recall(got: list[tuple[int, float]], exact: np.ndarray) -> float:
    # Tie-aware: a repeated corpus holds many rows with the same vector, so recall counts
    # answers at least as similar as the exact k-th, not row ids.
    sims = np.array([s for _, s in got], dtype=np.float32)
    return float(np.sum(sims >= exact[-1] - 1e-4)) / len(exact)


def query(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from mlradar._radar import make_radar
    from mlradar._radar._semantic import _encode_query

    if args.threads:
        torch.set_num_threads(args.threads)
    queries = make_queries(args.data, args.queries, args.seed)
    radar = make_radar(args.url or db_url(args.work))
    storage = radar._storage
    ix = radar._indexes()["papers"]
    out: dict[str, Any] = {
        "phase": "query",
        "work": str(args.work),
        "papers": ix.store.meta.rows,
        "queries": len(queries),
        "has_dense": ix.has_dense,
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
    t0 = time.perf_counter()
    embedder = ix.embedder if ix.has_dense else None
    if embedder is not None:
        embedder.encode(["warm up"])
    out["embedder_load_s"] = round(time.perf_counter() - t0, 2)
    # The code before this benchmark's changes has no rank_limit: pass it only when asked.
    kw: dict[str, Any] = {} if args.rank_limit is None else {"rank_limit": args.rank_limit or None}
    out["rank_limit"] = args.rank_limit
    for q in queries[:WARMUP]:
        storage.search(q, limit=20, **kw)
        radar.search(q, limit=20)

    def hits_of(q: str, **extra: Any) -> list[str]:
        found = storage.search(q, limit=20, **{**kw, **extra})
        return [f"{h.kind}:{h.ref}:{h.score:.6g}:{h.title}" for h in found]

    t: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def timed(name: str, fn: Any, *a: Any, **k: Any) -> Any:
        # Wall time, and the CPU time the whole process spent meanwhile (every thread):
        # on a machine shared with other jobs the first is inflated by waiting for a
        # core, the second much less, which makes it the estimate of an idle machine's
        # wall time for work done on one thread.
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn(*a, **k)
        t.setdefault(name, []).append(time.perf_counter() - t0)
        cpu.setdefault(name, []).append(time.process_time() - c0)
        return value

    dump: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    # The old probe and the old Radar.search run in a second pass: they leave thread
    # pools spinning (see below), which would steal a core from what is measured next.
    for n, q in enumerate(queries):
        entry: dict[str, Any] = {}
        # Whichever runs first reads the query's index pages: rotate the order.  The
        # statement before runs here too, in the same conditions (it uses no torch).
        variants = [
            ("fulltext", lambda q=q: hits_of(q)),
            ("exhaustive", lambda q=q: hits_of(q, rank_limit=None)),
            ("legacy", lambda q=q: legacy_fulltext(storage, q)),
        ][: 3 if args.legacy else 1]
        for k in range(len(variants)):
            name, fn = variants[(n + k) % len(variants)]
            label = {"fulltext": "fulltext", "exhaustive": "fulltext_exhaustive"}
            entry[name] = timed(label.get(name, "fulltext_before"), fn)
        if embedder is not None:
            vector = timed("query_embedding", _encode_query, embedder, q)
            vectors[q] = vector
            entry["ann"] = timed("ann", ix.semantic_neighbours, vector, 20)
            radar._query_vectors = None  # a cold query cache: the embedding is paid
            timed("semantic_half", radar.semantic_search, q, limit=20)
        # The two ways of running the halves, alternating which goes first.
        ways = [("radar_search_concurrent", True), ("radar_search_sequential", False)]
        for name, concurrent in ways if n % 2 else ways[::-1]:
            radar._query_vectors = None
            radar._concurrent_search = concurrent
            timed(name, radar.search, q, limit=20)
        del radar._concurrent_search
        radar._query_vectors = None
        timed("radar_search", radar.search, q, limit=20)
        timed("radar_search_repeat", radar.search, q, limit=20)
        dump[q] = entry
    # Mapped pages count as they are touched, and the old probe touches far more of the
    # store: without --legacy this is today's peak alone.
    out["peak_rss_mb"] = round(peak_mb())
    if args.legacy:
        # After the rest: the old probe's products ran on a multi-threaded BLAS and the
        # old embedding on two torch threads, and both leave their workers spinning.
        for q in queries:
            if embedder is not None and ix.ann.meta is not None:
                timed("ann_before", legacy_neighbours, ix, vectors[q], 20)
            timed("radar_search_before", legacy_search, radar, ix, q)
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    out["peak_rss_mb_with_before"] = round(peak_mb())
    for name, values in t.items():
        out[name] = {**stats(values), "cpu": stats(cpu[name])}
    slow = sorted(zip(t["fulltext"], queries, strict=True), reverse=True)[:8]
    out["slowest_fulltext"] = [(round(x * 1000, 1), q) for x, q in slow]

    matches = {q: count_matches(storage, q) for q in queries}
    counts = np.array(list(matches.values()))
    out["matches_p50_p95_max"] = [int(np.percentile(counts, p)) for p in (50, 95, 100)]
    if args.legacy:
        out |= _compare_fulltext(storage, queries, matches, dump)

    if embedder is not None:
        out |= _recall_pass(ix, vectors, args.legacy)
    if args.dump:
        args.dump.write_text(json.dumps({"matches": matches, "hits": dump}, indent=1))
    return out


def count_matches(storage: Any, query_text: str) -> int:
    from sqlalchemy import text

    from mlradar._storage._query import parse_query, to_fts5, to_tsquery

    query = parse_query(query_text)
    if storage.dialect == "sqlite":
        sql, q = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :q", to_fts5(query)
    else:
        sql = "SELECT count(*) FROM papers WHERE search_vector @@ to_tsquery('english', :q)"
        q = to_tsquery(query)
    with storage.read() as conn:
        return int(conn.execute(text(sql), {"q": q}).scalar_one())


def fulltext(args: argparse.Namespace) -> dict[str, Any]:
    """The full-text half alone on any database (``--url``): new, exhaustive, before."""
    from mlradar._storage import open_storage

    storage = open_storage(args.url)
    queries = make_queries(args.data, args.queries, args.seed)
    out: dict[str, Any] = {
        "phase": "fulltext",
        "dialect": storage.dialect,
        "papers": storage.count_papers(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
    kw: dict[str, Any] = {} if args.rank_limit is None else {"rank_limit": args.rank_limit or None}
    out["rank_limit"] = args.rank_limit
    for q in queries[:WARMUP]:
        storage.search(q, limit=20)
        legacy_fulltext(storage, q)
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    dump: dict[str, Any] = {}
    for q in queries:
        entry: dict[str, Any] = {}
        for name, fn in (
            ("fulltext", lambda q=q: storage.search(q, limit=20, **kw)),
            ("exhaustive", lambda q=q: storage.search(q, limit=20, rank_limit=None)),
            ("legacy", lambda q=q: legacy_fulltext(storage, q)),
        ):
            t0, c0 = time.perf_counter(), time.process_time()
            found = fn()
            wall.setdefault(name, []).append(time.perf_counter() - t0)
            cpu.setdefault(name, []).append(time.process_time() - c0)
            entry[name] = [
                h if isinstance(h, str) else f"{h.kind}:{h.ref}:{h.score:.6g}:{h.title}"
                for h in found
            ]
        dump[q] = entry
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    for name in wall:
        label = {"fulltext": "fulltext", "exhaustive": "fulltext_exhaustive"}.get(
            name, "fulltext_before"
        )
        out[label] = {**stats(wall[name]), "cpu": stats(cpu[name])}
    matches = {q: count_matches(storage, q) for q in queries}
    out["matches_p50_p95_max"] = [
        int(np.percentile(list(matches.values()), p)) for p in (50, 95, 100)
    ]
    out |= _compare_fulltext(storage, queries, matches, dump)
    return out


def _compare_fulltext(
    storage: Any, queries: list[str], matches: dict[str, int], dump: dict[str, Any]
) -> dict[str, Any]:
    """What the changes did to the answers: the two-step statement alone (identical, ties
    aside), dropping function words, and the bound on ranked matches."""
    from mlradar._storage._query import RANK_LIMIT, STOP_WORDS

    def refs(hits: list[str]) -> list[str]:
        return [h.split(":")[1] for h in hits]

    def scores(hits: list[str]) -> list[str]:
        return [h.split(":")[2] for h in hits]

    same_refs = same_scores = 0
    for q in queries:
        old_parse = storage.search(legacy_text(q), kinds=("paper",), limit=20, rank_limit=None)
        two_step = [f"{h.kind}:{h.ref}:{h.score:.6g}" for h in old_parse]
        same_refs += refs(two_step) == refs(dump[q]["legacy"])
        same_scores += scores(two_step) == scores(dump[q]["legacy"])
    with_stop = [q for q in queries if legacy_text(q) != q]
    stop_overlap = [
        len(set(refs(dump[q]["exhaustive"])) & set(refs(dump[q]["legacy"])))
        / max(1, len(dump[q]["legacy"]))
        for q in with_stop
    ]
    capped = [q for q in queries if matches[q] > RANK_LIMIT]
    cap_overlap = [
        len(_titles(dump[q]["fulltext"]) & _titles(dump[q]["exhaustive"]))
        / max(1, len(_titles(dump[q]["exhaustive"])))
        for q in capped
    ]
    return {
        # The old parse through the new statement against the old statement: the same
        # scores in the same order, and the same papers unless tied.
        "two_step_vs_before": {"same_papers": same_refs, "same_scores": same_scores},
        "queries_with_function_words": len(with_stop),
        "function_words_top20_overlap": round(float(np.mean(stop_overlap)), 3)
        if stop_overlap
        else None,
        "stop_words_known": len(STOP_WORDS),
        "queries_over_rank_limit": len(capped),
        "capped_top20_title_overlap": round(float(np.mean(cap_overlap)), 3)
        if cap_overlap
        else None,
    }


def _recall_pass(ix: Any, vectors: dict[str, np.ndarray], legacy: bool) -> dict[str, Any]:
    """Recall@20 of the ANN against an exact scan, and the n_probe trade-off.

    Runs after peak RSS was taken: the exact scan holds every embedding as float32.
    """
    full = np.empty((ix.store.meta.dense_rows, ix.store.meta.dim), dtype=np.float32)
    for start, block in ix.store.iter_dense():
        full[start : start + len(block)] = block
    out: dict[str, Any] = {}
    n_lists = ix.ann.meta.n_lists if ix.ann.meta is not None else 0
    sweep = [p for p in (4, 8, 16, 32, 64, 128) if p <= n_lists] if n_lists else [0]
    exacts = {}
    for key, v in vectors.items():
        sims = full @ v.astype(np.float32)
        exacts[key] = np.sort(np.partition(sims, -20)[-20:])[::-1]
    del full
    table = []
    for probes in sweep:
        times, recalls, before = [], [], []
        for key, v in vectors.items():
            q = v.astype(np.float32)
            exact = exacts[key]
            t0 = time.perf_counter()
            got = ix.semantic_neighbours(q, 20, n_probe=probes or None)
            times.append(time.perf_counter() - t0)
            recalls.append(_recall(got, exact))
            if legacy and probes and probes == max(8, n_lists // 32):
                before.append(_recall(legacy_neighbours(ix, q, 20), exact))
        row = {"n_probe": probes or "exact scan", **stats(times)}
        row["recall_at_20"] = round(float(np.mean(recalls)), 4)
        row["recall_at_20_min"] = round(float(np.min(recalls)), 4)
        if before:
            row["recall_at_20_before"] = round(float(np.mean(before)), 4)
        table.append(row)
    out["ann_sweep"] = table
    return out


# -- tails: the candidates of issue 15 section 3 -------------------------------------------


def query_class(q: str) -> str:
    """Which kind of slow path a query takes: a prefix, a hyphenated word (a phrase to
    FTS5), a quoted phrase, or plain words."""
    if "*" in q:
        return "prefix"
    if re.search(r"\w-\w", q):
        return "hyphenated"
    if '"' in q:
        return "quoted"
    return "words"


def tantivy_text(query_text: str) -> str:
    """Our query in Tantivy's query language: every term quoted and made of word
    characters only (as for PostgreSQL), clauses ANDed, ``OR`` inside a clause."""
    from mlradar._storage._query import parse_query

    query = parse_query(query_text)

    def term(t: Any) -> str:
        words = re.findall(r"\w+", t.text)
        return '"' + " ".join(words) + '"'

    parts = []
    for clause in query.clauses:
        rendered = " OR ".join(term(t) for t in clause)
        parts.append(f"({rendered})" if len(clause) > 1 else rendered)
    parts += [f"-{term(t)}" for t in query.excluded]
    return " ".join(parts)


TANTIVY_FIELDS = {"title": 10.0, "authors": 3.0, "abstract": 1.0}


def build_tantivy(db: Path, path: Path) -> dict[str, Any]:
    """A Tantivy index of the papers (id, title, authors, abstract; English stemming)."""
    import shutil
    import sqlite3

    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    for f in TANTIVY_FIELDS:
        sb.add_text_field(f, stored=False, tokenizer_name="en_stem")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    index = tantivy.Index(sb.build(), path=str(path))
    writer = index.writer(heap_size=300_000_000, num_threads=2)
    t0, c0 = time.perf_counter(), time.process_time()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for id_, title, authors, abstract in con.execute(
        "SELECT id, title, authors, abstract FROM papers"
    ):
        doc = tantivy.Document()
        doc.add_unsigned("id", id_)
        doc.add_text("title", title)
        doc.add_text("authors", authors)
        doc.add_text("abstract", abstract)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    size = sum(f.stat().st_size for f in path.iterdir())
    return {
        "tantivy_build_s": round(time.perf_counter() - t0, 1),
        "tantivy_build_cpu_s": round(time.process_time() - c0, 1),
        "tantivy_mb": round(size / 2**20),
    }


def tails(args: argparse.Namespace) -> dict[str, Any]:
    """The candidates for the full-text half's tail, side by side with the product's
    statement in one process, query by query (the order rotated)."""
    from sqlalchemy import text

    from mlradar._storage import open_storage
    from mlradar._storage._query import parse_query, to_fts5

    url = args.url or db_url(args.work)
    storage = open_storage(url)
    queries = make_queries(args.data, args.queries, args.seed)
    out: dict[str, Any] = {
        "phase": "tails",
        "dialect": storage.dialect,
        "papers": storage.count_papers(),
        "rum": storage._fts_rum(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
    variants: dict[str, Any] = {
        "fulltext": lambda q: [h.ref for h in storage.search(q, limit=20)],
        "exhaustive": lambda q: [h.ref for h in storage.search(q, limit=20, rank_limit=None)],
        "bound_5000": lambda q: [h.ref for h in storage.search(q, limit=20, rank_limit=5000)],
    }
    if storage.dialect == "sqlite":
        variants |= _sqlite_candidates(args, storage, out, parse_query, to_fts5, text)
    else:
        variants |= _postgres_candidates(args, storage, out, text)
    for name in args.skip:
        variants.pop(name, None)
    for q in queries[:WARMUP]:
        for fn in variants.values():
            fn(q)
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    hits: dict[str, dict[str, list[Any]]] = {}
    names = list(variants)
    for n, q in enumerate(queries):
        for k in range(len(names)):
            name = names[(n + k) % len(names)]
            t0, c0 = time.perf_counter(), time.process_time()
            found = variants[name](q)
            if found is None:  # not applicable to this query
                continue
            wall.setdefault(name, []).append(time.perf_counter() - t0)
            cpu.setdefault(name, []).append(time.process_time() - c0)
            hits.setdefault(name, {})[q] = found
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    classes = {q: query_class(q) for q in queries}
    out["queries_by_class"] = dict(Counter(classes.values()))
    for name in names:
        if name not in wall:
            continue
        row: dict[str, Any] = {"queries": len(wall[name]), **stats(wall[name])}
        row["cpu"] = stats(cpu[name])
        done = list(hits[name])
        by_class: dict[str, list[float]] = {}
        for q, x in zip(done, wall[name], strict=True):
            by_class.setdefault(classes[q], []).append(x)
        row["by_class"] = {c: stats(v) for c, v in sorted(by_class.items())}
        # Agreement with the exhaustive ranking (FTS5's bm25 / ts_rank_cd over every match)
        # and with the product's bounded answer: share of the top 20 in common.
        for ref in ("exhaustive", "fulltext"):
            if name != ref and ref in hits:
                overlap = [
                    len(set(hits[name][q]) & set(hits[ref][q])) / max(1, len(hits[ref][q]))
                    for q in done
                ]
                row[f"top20_overlap_{ref}"] = round(float(np.mean(overlap)), 3)
        slow = sorted(zip(wall[name], done, strict=True), reverse=True)[:6]
        row["slowest"] = [(round(x * 1000, 1), q) for x, q in slow]
        out[name] = row
    if args.dump:
        args.dump.write_text(json.dumps(hits, indent=1))
    return out


def _sqlite_candidates(
    args: argparse.Namespace,
    storage: Any,
    out: dict[str, Any],
    parse_query: Any,
    to_fts5: Any,
    text: Any,
) -> dict[str, Any]:
    import sqlite3

    from sqlalchemy import bindparam

    db = args.work / "radar.sqlite"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ranked = (
        "SELECT id FROM (SELECT rowid AS id, -bm25({f}, 10.0, 3.0, 1.0) AS score FROM {f} "
        "WHERE {f} MATCH ? ORDER BY rowid DESC LIMIT 20000) ORDER BY score DESC, id DESC "
        "LIMIT 20"
    )
    found: dict[str, Any] = {
        # The floor of any ranking on FTS5: the newest 20,000 matches found and nothing
        # scored.  Our own bm25 from stored document frequencies would still pay this.
        "match_floor": lambda q: [
            r[0]
            for r in con.execute(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? "
                "ORDER BY rowid DESC LIMIT 20000",
                (to_fts5(parse_query(q)),),
            ).fetchall()[:20]
        ],
        # bm25 without the product's joins, snippet and items half: the statement's core.
        "bm25_core": lambda q: [
            r[0] for r in con.execute(ranked.format(f="papers_fts"), (to_fts5(parse_query(q)),))
        ],
    }
    compound = args.work / "compound.sqlite"
    if compound.exists():
        # Hyphenated words indexed as tokens (unicode61 tokenchars '-'): a second FTS5
        # index over the same text.  Only the queries with a hyphenated word are run.
        ccon = sqlite3.connect(f"file:{compound}?mode=ro", uri=True)
        found["compound_tokens"] = lambda q: (
            None
            if query_class(q) != "hyphenated"
            else [
                r[0]
                for r in ccon.execute(ranked.format(f="compound_fts"), (to_fts5(parse_query(q)),))
            ]
        )
    tv_path = args.work / "tantivy"
    if args.tantivy and not tv_path.exists():
        out |= build_tantivy(db, tv_path)
    if tv_path.exists():
        import tantivy

        index = tantivy.Index.open(str(tv_path))
        index.reload()
        searcher = index.searcher()

        def tv(q: str) -> list[Any]:
            parsed = index.parse_query(
                tantivy_text(q),
                list(TANTIVY_FIELDS),
                field_boosts=TANTIVY_FIELDS,
                conjunction_by_default=True,
            )
            if "*" in q:
                return None  # Tantivy's parser has no single-word prefix: not compared
            result = searcher.search(parsed, 20, count=False)
            return [searcher.doc(a)["id"][0] for _, a in result.hits]

        found["tantivy"] = tv

    # The product's hits carry arXiv ids; these variants give row ids: map them.
    def as_refs(fn: Any) -> Any:
        def run(q: str) -> Any:
            ids = fn(q)
            if ids is None:
                return None
            with storage.read() as conn:
                rows = dict(
                    conn.execute(
                        text("SELECT id, arxiv_id FROM papers WHERE id IN :ids").bindparams(
                            bindparam("ids", expanding=True)
                        ),
                        {"ids": list(ids)},
                    ).all()
                )
            return [rows[i] for i in ids]

        return run

    return {name: as_refs(fn) for name, fn in found.items()}


def _postgres_candidates(
    args: argparse.Namespace, storage: Any, out: dict[str, Any], text: Any
) -> dict[str, Any]:
    from mlradar._storage._query import parse_query, to_tsquery

    tsq = "to_tsquery('english', :q)"
    weights = "'{0.0, 0.1, 0.3, 1.0}'"
    bounded = (
        "SELECT arxiv_id FROM (SELECT t.arxiv_id, t.id, {score} AS score FROM papers AS t "
        f"WHERE t.search_vector @@ {tsq} ORDER BY t.id DESC LIMIT :bound) AS newest "
        "ORDER BY score DESC, id DESC LIMIT 20"
    )

    def run(sql: str, **params: Any) -> Any:
        def go(q: str) -> list[Any]:
            with storage.read() as conn:
                rows = conn.execute(text(sql), {"q": to_tsquery(parse_query(q)), **params})
                return [r[0] for r in rows]

        return go

    found: dict[str, Any] = {}
    if storage._fts_rum():
        # The product ranks plain-word queries in the RUM index (migration 0012): the
        # GIN statement beside it, from a second storage told not to.
        from mlradar._storage import open_storage

        gin = open_storage(args.url)
        gin._rum = False
        found["gin_statement"] = lambda q: [h.ref for h in gin.search(q, limit=20)]
    found |= {
        # ts_rank (frequency only) instead of ts_rank_cd (cover density: positions).
        "ts_rank_20000": run(
            bounded.format(score=f"ts_rank({weights}, t.search_vector, {tsq})"), bound=20000
        ),
        "ts_rank_5000": run(
            bounded.format(score=f"ts_rank({weights}, t.search_vector, {tsq})"), bound=5000
        ),
    }
    with storage.read() as conn:
        has_rum = conn.execute(
            text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_bench_papers_rum'")
        ).scalar_one()
    if has_rum:
        # RUM keeps positions in the index and ranks inside it: ORDER BY <=> LIMIT.
        found["rum"] = run(
            f"SELECT arxiv_id FROM papers WHERE search_vector @@ {tsq} "
            f"ORDER BY search_vector <=> {tsq} LIMIT 20"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("phase", choices=["build", "query", "fulltext", "tails", "queries"])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/work/cache/search/1m"))
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--url", default=None, help="database of the fulltext phase")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--skip", nargs="*", default=[], help="tails: variants to leave out")
    parser.add_argument(
        "--tantivy", action="store_true", help="tails: build <work>/tantivy when missing"
    )
    parser.add_argument(
        "--legacy", action="store_true", help="also time the code before (same process)"
    )
    parser.add_argument(
        "--rank-limit", type=int, default=None, help="storage search rank_limit (0: rank all)"
    )
    args = parser.parse_args()
    if args.phase == "queries":
        print("\n".join(make_queries(args.data, args.queries, args.seed)))
        return
    phases = {"build": build, "query": query, "fulltext": fulltext, "tails": tails}
    result = phases[args.phase](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
