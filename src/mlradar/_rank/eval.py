"""The evaluation harness: every ranker on the same tasks built from real data.

The tasks (:mod:`mlradar._rank.eval_tasks`) are simulated users: what they tagged, what
they are shown, and what they would pick.  Two kinds come from real human choices (the
Hugging Face Daily Papers curators; the papers AI labs cite), two from metadata (author
continuation; one-category readers).

Every method is scored on every task beside arxiv-sanity-lite's method, reimplemented
faithfully: TF-IDF of title, abstract and authors, and on each request a LinearSVC
(C=0.01, balanced classes) trained on every paper.  Metrics, averaged over tasks:
precision@10, MAP (over the whole ranking of the candidates), nDCG@10 (binary gains) and
recall@50.  A method whose features read author names is marked: on the author task the
names are the answer.  The cost is the wall time of one recommendation (fit + score), and
the extra peak RSS of one, measured in a forked child so that the shared corpus features
are not counted against a method.
"""

from __future__ import annotations

import functools
import hashlib
import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._rank.blend import CorpusStats, Rows, fit_profile
from mlradar._rank.corpus import Corpus, content_text, day_number, sanity_text
from mlradar._rank.eval_tasks import (
    Task,
    author_tasks,
    category_tasks,
    curator_picks,
    curator_tasks,
    lab_citations,
    labs_tasks,
)
from mlradar._rank.features import (
    LexicalEncoder,
    author_rows,
    links_code,
    sanity_vectorizer,
)
from mlradar._rank.models import (
    Bm25Stats,
    RankConfig,
    background_sample,
    bm25_scores,
    sanity_svm_scores,
    score_profile,
)
from mlradar._rank.terms import TOKEN_PATTERN
from mlradar.exceptions import InvalidInputError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

#: The method every row is compared with: arxiv-sanity-lite as it runs.
BASELINE = "arxiv-sanity (with authors)"
#: Task kinds in the order the report shows them: real choices first.
KINDS = ("curator", "curator-3", "curator-week", "labs", "author", "cat-cold", "cat-warm")


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
    #: ``test`` (what is reported) or ``dev`` (what weights may be chosen on).
    split: str = "test"
    #: Draws of 3 positives per curator day (the few-positives row).
    few_draws: int = 5


def build_tasks(corpus: Corpus, options: EvalOptions, feeds: Path | None = None) -> list[Task]:
    """Every task of one split.  ``feeds`` is the ``feeds`` folder of the shared data (the
    curator and labs tasks are left out without it)."""
    if options.split not in ("test", "dev"):
        raise ValueError("split is 'test' or 'dev'")
    # The dev split's metadata tasks are another draw: other authors, other positives.
    seed = options.seed + (1 if options.split == "dev" else 0)
    tasks: list[Task] = []
    if feeds is not None and (feeds / "hf-daily-papers").is_dir():
        picks = curator_picks(feeds / "hf-daily-papers")
        tasks += curator_tasks(
            corpus, picks, split=options.split, few_draws=options.few_draws, seed=seed
        )
    if feeds is not None and (feeds / "labs").is_dir():
        tasks += labs_tasks(corpus, lab_citations(feeds / "labs"), split=options.split)
    tasks += [
        replace(t, split=options.split) for t in author_tasks(corpus, options.author_tasks, seed)
    ]
    for n_pos, kind, extra in (
        (options.cat_cold_positives, "cat-cold", 0),
        (options.cat_warm_positives, "cat-warm", 1),
    ):
        drawn = category_tasks(
            corpus, n_pos, options.cat_draws, seed + extra, options.cut_quantile, kind
        )
        tasks += [replace(t, split=options.split) for t in drawn]
    return tasks


def quick_corpus(corpus: Corpus, feeds: Path | None, size: int, seed: int = 0) -> Corpus:
    """A subset for ``eval --quick``: every paper of the curator tasks' weeks and every
    picked or cited paper, topped up with a random sample to ``size`` papers (in order)."""
    keep: set[int] = set()
    index = {d.key: i for i, d in enumerate(corpus.docs)}
    days = corpus.days
    if feeds is not None and (feeds / "hf-daily-papers").is_dir():
        for p in curator_picks(feeds / "hf-daily-papers"):
            keep |= {index[a] for a in p.arxiv_ids if a in index}
            snap = day_number(p.day)
            keep |= set(np.flatnonzero((days > snap - 7) & (days <= snap)).tolist())
    if feeds is not None and (feeds / "labs").is_dir():
        for c in lab_citations(feeds / "labs"):
            keep |= {index[a] for a in c.arxiv_ids if a in index}
    rest = np.setdiff1d(np.arange(len(corpus)), np.fromiter(keep, dtype=np.int64))
    rng = np.random.default_rng(seed)
    extra = rng.choice(rest, size=max(0, min(len(rest), size - len(keep))), replace=False)
    rows = np.sort(np.concatenate([np.fromiter(keep, dtype=np.int64), extra]))
    return Corpus(tuple(corpus.docs[int(i)] for i in rows))


# -- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metrics:
    """Quality of one ranking of one task's candidates."""

    precision_at_10: float
    average_precision: float
    ndcg_at_10: float
    recall_at_50: float


def ranking_metrics(
    scores: FloatArray, candidates: IntArray, relevant: IntArray, k: int = 10, k_recall: int = 50
) -> Metrics:
    """Metrics of candidates ranked by score (ties: earlier row first).  Relevant rows that
    are not candidates do not count (a method cannot rank what it is not shown)."""
    is_rel = np.isin(candidates, relevant)
    n_rel = int(is_rel.sum())
    if n_rel == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0)
    order = np.argsort(-scores, kind="stable")
    ranked = is_rel[order]
    hits = np.flatnonzero(ranked)
    average_precision = float(np.mean(np.arange(1, n_rel + 1) / (hits + 1)))
    gains = ranked[:k].astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((gains * discounts[: len(gains)]).sum())
    idcg = float(discounts[: min(k, n_rel)].sum())
    return Metrics(
        float(ranked[:k].sum()) / k,
        average_precision,
        dcg / idcg,
        float(ranked[:k_recall].sum()) / n_rel,
    )


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
    #: 1 where a paper's comments link code or a project page (:func:`links_code`).
    links: FloatArray | None = None


def build_features(
    corpus: Corpus,
    dense: npt.NDArray[np.float16] | None = None,
    log: Callable[[str], None] = lambda _m: None,
    *,
    baselines: bool = True,
    plain_baseline: bool = True,
) -> EvalFeatures:
    """Every representation, computed once; ``baselines=False`` skips the baselines' own
    (``plain_baseline=False`` only arxiv-sanity's title + abstract variant and BM25)."""
    from sklearn.feature_extraction.text import CountVectorizer

    with_authors = [sanity_text(d) for d in corpus.docs]
    plain = [content_text(d) for d in corpus.docs]
    # arxiv-sanity's min_df=5 cannot hold on a tiny corpus; keep its values when it can.
    small = len(corpus) < 2000
    min_df = 1 if small else 5
    max_df = 1.0 if small else 0.1
    empty = sp.csr_matrix((len(plain), 1), dtype=np.float32)
    sanity_a = sanity_p = counts = empty
    if baselines:
        log("features: arxiv-sanity TF-IDF with authors")
        sanity_a = sanity_vectorizer(min_df=min_df, max_df=max_df).fit_transform(with_authors)
    if baselines and plain_baseline:
        log("features: arxiv-sanity TF-IDF without authors")
        sanity_p = sanity_vectorizer(min_df=min_df, max_df=max_df).fit_transform(plain)
        log("features: BM25 term counts")
        counts = sp.csr_matrix(
            CountVectorizer(
                strip_accents="unicode",
                stop_words="english",
                token_pattern=TOKEN_PATTERN,
                dtype=np.float32,
            ).fit_transform(plain)
        )
    log("features: hashed TF-IDF (ours)")
    encoder = LexicalEncoder()
    tf = encoder.term_frequencies(plain)
    df = encoder.empty_df().add(tf)
    lexical = encoder.weigh(tf, encoder.idf(df))
    log("features: hashed author names, code links (ours)")
    authors = author_rows(d.authors for d in corpus.docs)
    author_df = np.bincount(authors.indices, minlength=authors.shape[1]).astype(np.int32)
    links = np.array([links_code(d.comments) for d in corpus.docs], dtype=np.float32)
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
        links,
    )


#: A trained ranker: scores for candidate rows.
Scorer = Callable[[IntArray], FloatArray]
#: Trains a ranker for one task's positives.
Fitter = Callable[[EvalFeatures, Task], Scorer]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    fit: Fitter
    #: True when the method's features contain author names: leaky on the author task.
    uses_authors: bool = False
    needs_dense: bool = False
    #: Needs the baselines' own features (arxiv-sanity's TF-IDF, BM25's counts).
    baseline: bool = False


def _sanity(with_authors: bool) -> Fitter:
    def fit(f: EvalFeatures, t: Task) -> Scorer:
        x = f.sanity_authors if with_authors else f.sanity_plain
        # arxiv-sanity trains on every paper and scores the ones asked for: one fit
        # scores every candidate, so the scorer scores them all once and then looks up.
        every = sanity_svm_scores(x, t.positives, np.arange(x.shape[0], dtype=np.int64))
        return lambda cand: every[cand]

    return fit


def _bm25(f: EvalFeatures, t: Task) -> Scorer:
    query = np.asarray(f.bm25_counts[t.positives].sum(axis=0), dtype=np.float32).ravel()
    return lambda cand: bm25_scores(f.bm25_counts[cand], query, f.bm25_stats)


def _rows(f: EvalFeatures, rows: IntArray, dense: bool, authors: bool, links: bool) -> Rows:
    return Rows(
        sp.csr_matrix(f.lexical[rows]),
        None if not dense or f.dense is None else np.asarray(f.dense[rows], np.float32),
        None if not authors or f.authors is None else sp.csr_matrix(f.authors[rows]),
        None if not links or f.links is None else f.links[rows],
    )


def _ours(config: RankConfig, use_dense: bool, use_links: bool = False) -> Fitter:
    """The product's own model (:func:`~mlradar._rank.blend.fit_profile`) on these features."""

    def fit(f: EvalFeatures, t: Task) -> Scorer:
        use_authors = config.author_weight > 0 and f.authors is not None
        n = f.lexical.shape[0]
        # As the product does: positives against a fixed random background sample.
        bg = background_sample(n, config.background, t.positives)
        stats = CorpusStats(f.doc_freq, f.author_df, n)
        profile = fit_profile(
            _rows(f, t.positives, use_dense, use_authors, use_links),
            None,
            _rows(f, bg, use_dense, use_authors, use_links),
            stats,
            config,
        )

        def score(cand: IntArray) -> FloatArray:
            c = _rows(f, cand, use_dense, use_authors, use_links)
            return score_profile(profile, c.lexical, c.dense, c.authors, c.links).score

        return score

    return fit


#: The fixed weights of the previous default: author affinity summed over every author.
PREVIOUS = RankConfig(learn_blend=False, author_norm="sum")


def default_methods(with_dense: bool) -> list[Method]:
    """Every method the table shows.  ``ours: blend, lexical`` is the product's default
    (``ours: blend, hybrid`` with the semantic extra)."""
    blend = RankConfig()
    lex, lex_prev = replace(blend, dense_weight=0.0), replace(PREVIOUS, dense_weight=0.0)
    methods = [
        Method(BASELINE, _sanity(True), uses_authors=True, baseline=True),
        Method("arxiv-sanity (no authors)", _sanity(False), baseline=True),
        Method("BM25 (positives as query)", _bm25, baseline=True),
        Method(
            "ours: lexical kNN (ablation)",
            _ours(replace(lex_prev, linear_weight=0.0, author_weight=0.0), False),
        ),
        Method("ours: lexical, fixed", _ours(replace(lex_prev, author_weight=0.0), False)),
        Method(
            "ours: lexical + authors, fixed, summed (previous default)",
            _ours(lex_prev, False),
            uses_authors=True,
        ),
        Method(
            "ours: lexical + authors, fixed, top-3",
            _ours(replace(lex_prev, author_norm="top"), False),
            uses_authors=True,
        ),
        Method("ours: blend, lexical (default)", _ours(lex, False), uses_authors=True),
        Method(
            "ours: blend, lexical, authors summed",
            _ours(replace(lex, author_norm="sum"), False),
            uses_authors=True,
        ),
        Method("ours: blend, lexical, no authors", _ours(replace(lex, author_weight=0.0), False)),
        Method(
            "ours: blend, lexical + code links",
            _ours(lex, False, use_links=True),
            uses_authors=True,
        ),
    ]
    if with_dense:
        methods += [
            Method(
                "ours: dense, fixed",
                _ours(replace(PREVIOUS, lexical_weight=0.0, author_weight=0.0), True),
                needs_dense=True,
            ),
            Method(
                "ours: hybrid + authors, fixed, summed (previous default)",
                _ours(PREVIOUS, True),
                uses_authors=True,
                needs_dense=True,
            ),
            Method(
                "ours: blend, hybrid (default with the semantic extra)",
                _ours(blend, True),
                uses_authors=True,
                needs_dense=True,
            ),
            Method(
                "ours: blend, hybrid + code links",
                _ours(blend, True, use_links=True),
                uses_authors=True,
                needs_dense=True,
            ),
        ]
    return methods


#: What ``eval --quick`` runs: the baseline, the previous default and the new one.
QUICK_METHODS = (
    BASELINE,
    "ours: lexical + authors, fixed, summed (previous default)",
    "ours: blend, lexical (default)",
)


# -- running -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One method's mean metrics over the tasks of one kind."""

    method: str
    task_kind: str
    split: str
    n_tasks: int
    precision_at_10: float
    map: float
    ndcg_at_10: float
    recall_at_50: float
    seconds_per_rec: float
    uses_authors: bool


@dataclass(frozen=True, slots=True)
class TaskResult:
    """One method on one task (the report keeps them for paired comparisons)."""

    method: str
    task_kind: str
    task: str
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class EvalReport:
    rows: tuple[ResultRow, ...]
    peak_extra_mb: dict[str, float]
    corpus_size: int
    feature_seconds: float
    per_task: tuple[TaskResult, ...] = ()

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


def _fit_and_score(method: Method, f: EvalFeatures, task: Task, cand: IntArray) -> FloatArray:
    return method.fit(f, task)(cand)


def run_eval(
    corpus: Corpus,
    features: EvalFeatures,
    methods: Sequence[Method],
    tasks: Sequence[Task],
    *,
    measure_memory: bool = True,
    feature_seconds: float = 0.0,
    log: Callable[[str], None] = lambda _m: None,
    progress_every: float = 15.0,
) -> EvalReport:
    """Every method on every task.  Tasks with the same positives (a curator day and its
    week) share one fit; ``log`` hears of progress every ``progress_every`` seconds."""
    days = corpus.days
    per: dict[tuple[str, str], list[tuple[Metrics, float]]] = defaultdict(list)
    results: list[TaskResult] = []
    peaks: dict[str, float] = {}
    split = tasks[0].split if tasks else "test"
    for method in methods:
        if method.needs_dense and features.dense is None:
            continue
        started = last_note = time.perf_counter()
        log(f"{method.name}: {len(tasks)} tasks")
        fitted: tuple[bytes, Scorer, float] | None = None
        for n, task in enumerate(tasks, 1):
            cand = task.candidate_rows(days)
            key = task.positives.tobytes()
            start = time.perf_counter()
            if fitted is None or fitted[0] != key:
                scorer = method.fit(features, task)
                fitted = (key, scorer, time.perf_counter() - start)
                start = time.perf_counter()
            scores = fitted[1](cand)
            elapsed = fitted[2] + time.perf_counter() - start
            metrics = ranking_metrics(scores, cand, task.relevant)
            per[(method.name, task.kind)].append((metrics, elapsed))
            results.append(TaskResult(method.name, task.kind, task.name, metrics))
            now = time.perf_counter()
            if now - last_note >= progress_every and n < len(tasks):
                log(f"  {method.name}: {n}/{len(tasks)} tasks, {now - started:.0f}s")
                last_note = now
        log(f"  {method.name}: done in {time.perf_counter() - started:.0f}s")
        if measure_memory and tasks:
            first = tasks[0]
            cand = first.candidate_rows(days)
            peaks[method.name] = peak_extra_rss_mb(
                functools.partial(_fit_and_score, method, features, first, cand)
            )
    rows = []
    by_name = {m.name: m for m in methods}
    for (name, kind), values in per.items():
        m = [v[0] for v in values]
        rows.append(
            ResultRow(
                name,
                kind,
                split,
                len(values),
                float(np.mean([x.precision_at_10 for x in m])),
                float(np.mean([x.average_precision for x in m])),
                float(np.mean([x.ndcg_at_10 for x in m])),
                float(np.mean([x.recall_at_50 for x in m])),
                float(np.mean([v[1] for v in values])),
                by_name[name].uses_authors,
            )
        )
    return EvalReport(tuple(rows), peaks, len(corpus), feature_seconds, tuple(results))


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
    from mlradar._rank.embed import default_model_name, load_embedder, packaged_backend

    # Named after the model and its backend: two backends' vectors are two cache files.
    model = model or default_model_name()
    home = None
    if model is not None and packaged_backend(model) == "tuned":
        # Trained on this corpus, as the product trains on its database (nothing of the
        # tasks is seen: the teacher's vectors carry no labels); kept in the cache.
        if cache_dir is None:
            raise InvalidInputError("the tuned backend trains on the corpus: give --cache-dir")
        home = cache_dir / f"tuned-{corpus_fingerprint(corpus)}"
        model = _tuned_for(corpus, home, model, compute=compute, log=log)
        if model is None:
            return None
    name = (model or "packaged").replace("/", "_").replace(":", "_")
    path = None if cache_dir is None else cache_dir / f"emb-{name}-{corpus_fingerprint(corpus)}.npy"
    if path is not None and path.is_file():
        cached = np.load(path, mmap_mode="r")
        if cached.shape[0] == len(corpus):
            return np.asarray(cached, dtype=np.float16)
    if not compute:
        return None
    embedder = load_embedder(model, home=home)
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


def _tuned_for(
    corpus: Corpus, home: Path, model: str, *, compute: bool, log: Callable[[str], None]
) -> str | None:
    """The tuned model's name once it is trained for ``corpus`` in ``home``."""
    from mlradar._rank import embed_tuned
    from mlradar._rank.embed import needs_training, packaged_model_path, trained_name

    if needs_training(trained_name(model, home)):
        model_dir = packaged_model_path()
        if not compute or model_dir is None:
            return None
        rows = embed_tuned.training_sample(np.arange(len(corpus), dtype=np.int64))
        texts = [content_text(corpus.docs[int(i)]) for i in rows]
        log(f"training the tuned model on {len(texts)} papers")
        embed_tuned.train_tuned(
            home, model_dir, texts, lambda phase, done, total: log(f"{phase} {done}/{total}")
        )
    return trained_name(model, home)


__all__ = [
    "BASELINE",
    "KINDS",
    "EvalFeatures",
    "EvalOptions",
    "EvalReport",
    "Method",
    "Metrics",
    "ResultRow",
    "Task",
    "TaskResult",
    "author_tasks",
    "build_features",
    "build_tasks",
    "category_tasks",
    "default_methods",
    "load_or_embed",
    "quick_corpus",
    "ranking_metrics",
    "run_eval",
]
