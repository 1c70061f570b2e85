"""The evaluation harness: every ranker on the same tasks built from real arXiv data.

Tasks (each has positives listed before a cut day and is scored on every paper listed
on or after it):

* ``author`` — author continuation.  For an author with at least 6 papers, the cut is
  the listing day of their middle paper; the papers before it are the positives, the
  later ones the relevant set.  Author names are the answer here, so the fair protocol
  keeps them out of every feature; arxiv-sanity-lite's own features include them, and
  the table shows that variant too, marked as leaking.
* ``cat-cold`` / ``cat-warm`` — a user following one arXiv category, seen through 3 or
  25 tagged papers listed before a global cut.  The relevant set is every later paper
  listing that category.  Categories never enter any feature, so nothing leaks.
  The four catch-all categories (over 10% of the corpus each) are left out.

Metrics are recall@50 and nDCG@10 (binary gains), averaged over tasks; the cost is the
wall time of one recommendation (fit + score) and the extra peak RSS of one, measured in
a forked child so that the shared corpus features are not counted against a method.
"""

from __future__ import annotations

import functools
import hashlib
import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from mlradar._rank.corpus import Corpus, content_text, sanity_text
from mlradar._rank.features import (
    TOKEN_PATTERN,
    LexicalEncoder,
    author_rows,
    sanity_vectorizer,
)
from mlradar._rank.models import (
    Bm25Stats,
    Profile,
    RankConfig,
    author_weights,
    background_sample,
    bm25_scores,
    sanity_svm_scores,
    score_profile,
    with_linear,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

#: Categories that hold more than this share of the corpus are too broad to be a topic.
BROAD_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    name: str
    positives: IntArray
    relevant: IntArray
    cut_day: int


@dataclass(frozen=True, slots=True)
class EvalOptions:
    author_tasks: int = 300
    cat_draws: int = 2
    cat_cold_positives: int = 3
    cat_warm_positives: int = 25
    seed: int = 0
    #: Share of the corpus listed before the global cut of the category tasks.
    cut_quantile: float = 0.7
    measure_memory: bool = True


# -- tasks -------------------------------------------------------------------------------------


def author_tasks(corpus: Corpus, limit: int, seed: int, min_papers: int = 6) -> list[Task]:
    """Author continuation tasks for a seeded sample of authors with ``min_papers`` papers."""
    if limit <= 0:
        return []
    days = corpus.days
    by_author: dict[str, list[int]] = defaultdict(list)
    for row, doc in enumerate(corpus.docs):
        for name in set(doc.authors):
            by_author[name].append(row)
    names = sorted(a for a, rows in by_author.items() if len(rows) >= min_papers)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    tasks: list[Task] = []
    for i in order:
        rows = np.array(sorted(by_author[names[i]], key=lambda r: (days[r], r)), dtype=np.int64)
        cut = int(days[rows[len(rows) // 2]])
        before, after = rows[days[rows] < cut], rows[days[rows] >= cut]
        if len(before) < 3 or len(after) < 3:
            continue  # papers listed the same day cannot be split; skip, never guess
        tasks.append(Task("author", names[i], before, after, cut))
        if len(tasks) >= limit:
            break
    return tasks


def category_tasks(
    corpus: Corpus, n_positives: int, draws: int, seed: int, cut_quantile: float, kind: str
) -> list[Task]:
    """One-category-interest tasks: ``n_positives`` tagged papers before the global cut."""
    days = corpus.days
    cut = int(np.quantile(days, cut_quantile))
    by_cat: dict[str, list[int]] = defaultdict(list)
    for row, doc in enumerate(corpus.docs):
        for cat in set(doc.categories):
            by_cat[cat].append(row)
    rng = np.random.default_rng(seed)
    tasks: list[Task] = []
    for cat in sorted(by_cat):
        rows = np.array(by_cat[cat], dtype=np.int64)
        if len(rows) > BROAD_SHARE * len(corpus):
            continue
        before, after = rows[days[rows] < cut], rows[days[rows] >= cut]
        if len(before) < max(n_positives, 3) * 2 or len(after) < 10:
            continue
        for d in range(draws):
            pos = np.sort(rng.choice(before, size=n_positives, replace=False))
            tasks.append(Task(kind, f"{cat}#{d}", pos, after, cut))
    return tasks


def build_tasks(corpus: Corpus, options: EvalOptions) -> list[Task]:
    return [
        *author_tasks(corpus, options.author_tasks, options.seed),
        *category_tasks(
            corpus,
            options.cat_cold_positives,
            options.cat_draws,
            options.seed,
            options.cut_quantile,
            "cat-cold",
        ),
        *category_tasks(
            corpus,
            options.cat_warm_positives,
            options.cat_draws,
            options.seed + 1,
            options.cut_quantile,
            "cat-warm",
        ),
    ]


# -- metrics -----------------------------------------------------------------------------------


def ranking_metrics(
    scores: FloatArray,
    candidates: IntArray,
    relevant: IntArray,
    k_recall: int = 50,
    k_ndcg: int = 10,
) -> tuple[float, float]:
    """recall@k_recall and nDCG@k_ndcg of candidates ranked by score (ties: earlier row first)."""
    is_rel = np.isin(candidates, relevant)
    n_rel = int(is_rel.sum())
    if n_rel == 0:
        return 0.0, 0.0
    order = np.argsort(-scores, kind="stable")
    recall = float(is_rel[order[:k_recall]].sum()) / n_rel
    gains = is_rel[order[:k_ndcg]].astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k_ndcg + 2))
    dcg = float((gains * discounts[: len(gains)]).sum())
    idcg = float(discounts[: min(k_ndcg, n_rel)].sum())
    return recall, dcg / idcg


# -- features and methods ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvalFeatures:
    """Every representation the methods need, computed once over the corpus."""

    sanity_authors: sp.csr_matrix
    sanity_plain: sp.csr_matrix
    lexical: sp.csr_matrix
    bm25_counts: sp.csr_matrix
    bm25_stats: Bm25Stats
    dense: npt.NDArray[np.float16] | None
    doc_freq: npt.NDArray[np.int32] | None = None
    #: Hashed author rows and each author's paper count (see :func:`author_rows`).
    authors: sp.csr_matrix | None = None
    author_df: npt.NDArray[np.int32] | None = None


def build_features(
    corpus: Corpus,
    dense: npt.NDArray[np.float16] | None = None,
    log: Callable[[str], None] = lambda _m: None,
    *,
    baselines: bool = True,
) -> EvalFeatures:
    """Every representation, computed once; ``baselines=False`` skips the baselines' own."""
    with_authors = [sanity_text(d) for d in corpus.docs]
    plain = [content_text(d) for d in corpus.docs]
    # arxiv-sanity's min_df=5 cannot hold on a tiny corpus; keep its values when it can.
    small = len(corpus) < 2000
    min_df = 1 if small else 5
    max_df = 1.0 if small else 0.1
    empty = sp.csr_matrix((len(plain), 1), dtype=np.float32)
    sanity_a = sanity_p = empty
    if baselines:
        log("features: arxiv-sanity TF-IDF with authors")
        sanity_a = sanity_vectorizer(min_df=min_df, max_df=max_df).fit_transform(with_authors)
        log("features: arxiv-sanity TF-IDF without authors")
        sanity_p = sanity_vectorizer(min_df=min_df, max_df=max_df).fit_transform(plain)
    log("features: hashed TF-IDF (ours)")
    encoder = LexicalEncoder()
    tf = encoder.term_frequencies(plain)
    df = encoder.empty_df().add(tf)
    lexical = encoder.weigh(tf, encoder.idf(df))
    counts = empty
    if baselines:
        log("features: BM25 term counts")
        counts = CountVectorizer(
            strip_accents="unicode",
            stop_words="english",
            token_pattern=TOKEN_PATTERN,
            dtype=np.float32,
        ).fit_transform(plain)
        counts = sp.csr_matrix(counts)
    log("features: hashed author names (ours, with authors)")
    authors = author_rows(d.authors for d in corpus.docs)
    author_df = np.bincount(authors.indices, minlength=authors.shape[1]).astype(np.int32)
    return EvalFeatures(
        sp.csr_matrix(sanity_a),
        sp.csr_matrix(sanity_p),
        lexical,
        counts,
        Bm25Stats.of(counts),
        dense,
        df.counts,
        authors,
        author_df,
    )


Ranker = Callable[[EvalFeatures, Task, IntArray], FloatArray]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    rank: Ranker
    #: True when the method's features contain author names: leaky on the author task.
    uses_authors: bool = False
    needs_dense: bool = False


def _sanity(with_authors: bool) -> Ranker:
    def rank(f: EvalFeatures, t: Task, cand: IntArray) -> FloatArray:
        x = f.sanity_authors if with_authors else f.sanity_plain
        return sanity_svm_scores(x, t.positives, cand)

    return rank


def _bm25(f: EvalFeatures, t: Task, cand: IntArray) -> FloatArray:
    query = np.asarray(f.bm25_counts[t.positives].sum(axis=0), dtype=np.float32).ravel()
    return bm25_scores(f.bm25_counts[cand], query, f.bm25_stats)


def _ours(config: RankConfig, use_dense: bool) -> Ranker:
    def rank(f: EvalFeatures, t: Task, cand: IntArray) -> FloatArray:
        dense = f.dense if use_dense else None
        use_authors = config.author_weight > 0 and f.authors is not None
        profile = Profile(
            pos_lexical=f.lexical[t.positives],
            pos_dense=None if dense is None else np.asarray(dense[t.positives], np.float32),
            config=config,
            author_weights=None
            if not use_authors or f.authors is None or f.author_df is None
            else author_weights(f.authors[t.positives], f.author_df, f.lexical.shape[0]),
        )
        if config.linear_weight > 0:
            # As the product does: positives against a fixed random background sample.
            bg = background_sample(f.lexical.shape[0], config.background, t.positives)
            profile = with_linear(
                profile,
                f.lexical[bg],
                None if dense is None else np.asarray(dense[bg], np.float32),
                f.doc_freq,
            )
        cand_authors = f.authors[cand] if use_authors and f.authors is not None else None
        return score_profile(
            profile, f.lexical[cand], None if dense is None else dense[cand], cand_authors
        ).score

    return rank


def default_methods(with_dense: bool) -> list[Method]:
    methods = [
        Method("arxiv-sanity (with authors)", _sanity(True), uses_authors=True),
        Method("arxiv-sanity (no authors)", _sanity(False)),
        Method("BM25 (positives as query)", _bm25),
        Method(
            "ours: lexical kNN (ablation)",
            _ours(
                RankConfig(dense_weight=0.0, linear_weight=0.0, author_weight=0.0),
                use_dense=False,
            ),
        ),
        Method(
            "ours: lexical",
            _ours(RankConfig(dense_weight=0.0, author_weight=0.0), use_dense=False),
        ),
        Method(
            "ours: lexical + authors",
            _ours(RankConfig(dense_weight=0.0), use_dense=False),
            uses_authors=True,
        ),
    ]
    if with_dense:
        methods += [
            Method(
                "ours: dense",
                _ours(RankConfig(lexical_weight=0.0, author_weight=0.0), use_dense=True),
                needs_dense=True,
            ),
            Method(
                "ours: hybrid",
                _ours(RankConfig(author_weight=0.0), use_dense=True),
                needs_dense=True,
            ),
            Method(
                "ours: hybrid + authors",
                _ours(RankConfig(), use_dense=True),
                uses_authors=True,
                needs_dense=True,
            ),
        ]
    return methods


# -- running -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultRow:
    method: str
    task_kind: str
    n_tasks: int
    recall_at_50: float
    ndcg_at_10: float
    seconds_per_rec: float
    uses_authors: bool


@dataclass(frozen=True, slots=True)
class EvalReport:
    rows: tuple[ResultRow, ...]
    peak_extra_mb: dict[str, float]
    corpus_size: int
    feature_seconds: float

    def get(self, method: str, kind: str) -> ResultRow:
        for r in self.rows:
            if r.method == method and r.task_kind == kind:
                return r
        raise KeyError((method, kind))


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_extra_rss_mb(fn: Callable[[], object]) -> float:
    """Extra peak RSS (MB) of running ``fn`` once, in a forked child."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        try:
            start = _rss_mb()
            fn()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            os.write(write_fd, f"{max(peak - start, 0.0):.1f}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return float(text) if text else float("nan")


def run_eval(
    corpus: Corpus,
    features: EvalFeatures,
    methods: Sequence[Method],
    tasks: Sequence[Task],
    *,
    measure_memory: bool = True,
    feature_seconds: float = 0.0,
    log: Callable[[str], None] = lambda _m: None,
) -> EvalReport:
    days = corpus.days
    per: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    peaks: dict[str, float] = {}
    candidates_of: dict[int, IntArray] = {}
    for method in methods:
        if method.needs_dense and features.dense is None:
            continue
        log(f"method: {method.name}")
        for task in tasks:
            cand = candidates_of.get(task.cut_day)
            if cand is None:
                cand = candidates_of[task.cut_day] = np.flatnonzero(days >= task.cut_day)
            start = time.perf_counter()
            scores = method.rank(features, task, cand)
            elapsed = time.perf_counter() - start
            rec, ndcg = ranking_metrics(scores, cand, task.relevant)
            per[(method.name, task.kind)].append((rec, ndcg, elapsed))
        if measure_memory and tasks:
            first = tasks[0]
            cand = candidates_of[first.cut_day]
            peaks[method.name] = peak_extra_rss_mb(
                functools.partial(method.rank, features, first, cand)
            )
    rows = []
    by_name = {m.name: m for m in methods}
    for (name, kind), values in per.items():
        arr = np.array(values)
        rows.append(
            ResultRow(
                name,
                kind,
                len(values),
                float(arr[:, 0].mean()),
                float(arr[:, 1].mean()),
                float(arr[:, 2].mean()),
                by_name[name].uses_authors,
            )
        )
    return EvalReport(tuple(rows), peaks, len(corpus), feature_seconds)


# -- dense cache ---------------------------------------------------------------------------------


def corpus_fingerprint(corpus: Corpus) -> str:
    digest = hashlib.sha256()
    for doc in corpus.docs:
        digest.update(doc.key.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load_or_embed(
    corpus: Corpus,
    cache_dir: Path | None,
    model: str | None,
    *,
    compute: bool,
    log: Callable[[str], None] = lambda _m: None,
) -> npt.NDArray[np.float16] | None:
    """Embeddings of the corpus from ``cache_dir`` (outside the repository), else computed.

    Returns ``None`` when there is no cache and ``compute`` is false, or when the
    semantic extra is missing: the evaluation then reports the lexical methods only.
    """
    from mlradar._rank.embed import load_embedder

    name = (model or "packaged").replace("/", "_").replace(":", "_")
    path = None if cache_dir is None else cache_dir / f"emb-{name}-{corpus_fingerprint(corpus)}.npy"
    if path is not None and path.is_file():
        cached = np.load(path, mmap_mode="r")
        if cached.shape[0] == len(corpus):
            return np.asarray(cached, dtype=np.float16)
    if not compute:
        return None
    embedder = load_embedder(model)
    if embedder is None:
        return None
    texts = [content_text(d) for d in corpus.docs]
    out = np.zeros((len(texts), embedder.dim), dtype=np.float16)
    step = 2048
    for i in range(0, len(texts), step):
        out[i : i + step] = embedder.encode(texts[i : i + step])
        log(f"embedded {min(i + step, len(texts))}/{len(texts)}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out
