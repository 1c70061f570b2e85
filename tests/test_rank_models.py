"""Rankers on small synthetic corpora: each ranks what it should, and explains it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from mlradar._rank.features import LexicalEncoder, author_rows, normalize_author
from mlradar._rank.index import fuse_rrf
from mlradar._rank.models import (
    Bm25Stats,
    Profile,
    RankConfig,
    author_affinity,
    author_weights,
    blend_channels,
    bm25_scores,
    contributing_terms,
    sanity_svm_scores,
    score_profile,
)

TOPICS = {
    "graphs": "graph neural network message passing node classification over graphs",
    "speech": "speech recognition acoustic model audio waveform transcription",
    "robots": "robot manipulation grasping policy learning control arm",
}


def corpus(n_per_topic: int = 12, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    filler = ["we", "propose", "a", "method", "and", "show", "results", "on", "benchmarks"]
    for topic, words in TOPICS.items():
        vocab = words.split()
        for i in range(n_per_topic):
            chosen = (
                rng.choice(vocab, size=6, replace=True).tolist() + rng.choice(filler, 4).tolist()
            )
            texts.append(f"paper {i} " + " ".join(chosen))
            labels.append(topic)
    return texts, labels


def lexical(texts: list[str]) -> sp.csr_matrix:
    enc = LexicalEncoder()
    tf = enc.term_frequencies(texts)
    # A tiny corpus: keep every term (the production bounds assume thousands of papers).
    enc.config = type(enc.config)(min_df=1, max_df=1.0)
    return enc.weigh(tf, enc.idf(enc.empty_df().add(tf)))


def top_labels(scores: np.ndarray, rows: np.ndarray, labels: list[str], k: int) -> list[str]:
    return [labels[rows[i]] for i in np.argsort(-scores)[:k]]


def test_profile_ranks_the_topic_of_the_positives_first() -> None:
    texts, labels = corpus()
    x = lexical(texts)
    positives = np.array([0, 1, 2])  # graphs
    candidates = np.arange(3, len(texts))
    scores = score_profile(Profile(x[positives]), x[candidates])
    assert top_labels(scores.score, candidates, labels, 9) == ["graphs"] * 9
    assert scores.nearest.max() < 3
    assert np.all(scores.nearest_sim[np.argsort(-scores.score)[:9]] > 0)


def test_negatives_push_down_what_resembles_them() -> None:
    texts, labels = corpus()
    x = lexical(texts)
    # Positives from two topics; dismissing speech papers must demote speech.
    positives = np.array([0, 1, 12, 13])
    negatives = np.array([14, 15, 16])
    candidates = np.array([r for r in range(len(texts)) if r not in {0, 1, 12, 13, 14, 15, 16}])
    plain = score_profile(Profile(x[positives]), x[candidates]).score
    with_neg = score_profile(
        Profile(x[positives], neg_lexical=x[negatives], config=RankConfig(negative_weight=2.0)),
        x[candidates],
    ).score
    speech = np.array([labels[r] == "speech" for r in candidates])
    assert (
        with_neg[speech].mean() - with_neg[~speech].mean()
        < plain[speech].mean() - plain[~speech].mean()
    )


def test_dense_channel_is_blended_and_can_decide() -> None:
    texts, labels = corpus()
    x = lexical(texts)
    n = len(texts)
    # Dense vectors that know the topic perfectly: with lexical weight 0 they decide alone.
    dense = np.zeros((n, 3), dtype=np.float32)
    for i, lab in enumerate(labels):
        dense[i, list(TOPICS).index(lab)] = 1.0
    positives = np.array([24, 25])  # robots
    cand = np.array([r for r in range(n) if r not in (24, 25)])
    cfg = RankConfig(lexical_weight=0.0)
    s = score_profile(
        Profile(x[positives], pos_dense=dense[positives], config=cfg), x[cand], dense[cand]
    )
    assert s.dense is not None
    assert top_labels(s.score, cand, labels, 10) == ["robots"] * 10
    robots = np.array([labels[r] == "robots" for r in cand])
    assert s.score[robots].min() > s.score[~robots].max()


def test_blend_standardizes_each_channel() -> None:
    lex = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    dense = np.array([300.0, 200.0, 100.0], dtype=np.float32)
    total = blend_channels(lex, dense, RankConfig(lexical_weight=1.0, dense_weight=1.0))
    assert np.allclose(total, 0.0, atol=1e-6)  # opposite and equal after scaling
    assert blend_channels(np.zeros(0, np.float32), None, RankConfig()).shape == (0,)


def test_contributing_terms_are_shared_with_the_positives() -> None:
    texts = ["graph neural networks for molecules", "speech recognition with transformers"]
    x = lexical([*texts, "graph neural message passing"])
    terms = contributing_terms(x[2], Profile(x[[0]]))
    assert terms
    assert all(w > 0 for _, w in terms)
    assert contributing_terms(x[2], Profile(x[[1]])) == ()


def test_bm25_prefers_documents_with_the_query_terms() -> None:
    texts, labels = corpus()
    vec = CountVectorizer()
    counts = sp.csr_matrix(vec.fit_transform(texts), dtype=np.float32)
    stats = Bm25Stats.of(counts)
    query = np.asarray(counts[[12, 13]].sum(axis=0)).ravel()  # speech
    cand = np.arange(14, len(texts))
    scores = bm25_scores(counts[cand], query, stats)
    assert top_labels(scores, cand, labels, 5) == ["speech"] * 5


def test_bm25_saturates_a_repeated_query_term() -> None:
    counts = sp.csr_matrix(np.array([[3, 0], [0, 3]], dtype=np.float32))
    stats = Bm25Stats.of(counts)
    once = bm25_scores(counts, np.array([1.0, 1.0]), stats)
    many = bm25_scores(counts, np.array([1000.0, 1.0]), stats)
    assert once[0] == pytest.approx(once[1])
    assert many[0] / many[1] < 10  # k3 keeps a long query's repeats bounded


def test_arxiv_sanity_svm_baseline_ranks_the_positive_topic() -> None:
    texts, labels = corpus()
    x = lexical(texts)
    positives = np.array([24, 25, 26])
    cand = np.array([r for r in range(len(texts)) if r not in positives])
    scores = sanity_svm_scores(x, positives, cand)
    assert top_labels(scores, cand, labels, 6) == ["robots"] * 6


def test_fuse_rrf_rewards_agreement_and_keeps_everything() -> None:
    fused = fuse_rrf([["a", "b", "c"], ["b", "d"]])
    keys = [k for k, _ in fused]
    assert keys[0] == "b"
    assert set(keys) == {"a", "b", "c", "d"}
    assert fuse_rrf([]) == []
    # A key repeated inside one ranking counts once, at its best rank.
    assert fuse_rrf([["a", "a"]]) == [("a", pytest.approx(1 / 61))]


# -- author affinity -------------------------------------------------------------------------


def test_author_names_are_folded_but_initials_stay_distinct() -> None:
    assert normalize_author("Rémi  Munos") == normalize_author("remi munos")
    assert normalize_author("R. Munos") != normalize_author("Remi Munos")
    rows = author_rows([["Rémi Munos", "remi munos", " "], []])
    assert rows.shape[0] == 2
    assert rows[0].nnz == 1 and rows[0].data.tolist() == [1.0]
    assert rows[1].nnz == 0


def test_author_affinity_rewards_tagged_authors_and_discounts_common_names() -> None:
    papers = [
        ["Ada Rare", "Yang Liu"],  # 0: positive
        ["Ada Rare"],  # 1: positive
        ["Yang Liu"],  # 2..: a common name, on many papers
        ["Yang Liu"],
        ["Yang Liu"],
        ["Yang Liu"],
        ["Nobody Else"],
    ]
    rows = author_rows(papers)
    df = np.bincount(rows.indices, minlength=rows.shape[1]).astype(np.int32)
    weights = author_weights(rows[[0, 1]], df, len(papers))
    cand = author_rows([["Ada Rare"], ["Yang Liu"], ["Nobody Else"], ["Ada Rare", "Yang Liu"]])
    affinity = author_affinity(cand, weights)
    assert affinity[2] == 0.0
    assert affinity[0] > affinity[1] > 0.0  # the rare name on two positives beats "Yang Liu"
    assert affinity[3] > affinity[0]


def test_author_channel_lifts_a_tagged_authors_paper_when_enabled() -> None:
    texts, _labels = corpus()
    x = lexical(texts)
    authors = author_rows([["Ada Rare"] if i in (0, 1, 30) else ["Someone"] for i in range(36)])
    df = np.bincount(authors.indices, minlength=authors.shape[1]).astype(np.int32)
    cand = np.arange(12, 36)  # speech and robots only: row 30 is off-topic but by Ada
    weights = author_weights(authors[[0, 1]], df, 36)
    off = Profile(pos_lexical=x[[0, 1]], config=RankConfig(linear_weight=0.0))
    on = Profile(
        pos_lexical=x[[0, 1]],
        config=RankConfig(linear_weight=0.0, author_weight=3.0),
        author_weights=weights,
    )
    without = score_profile(off, x[cand], None, authors[cand]).score
    with_ = score_profile(on, x[cand], None, authors[cand])
    assert int(np.argmax(with_.score)) == 30 - 12
    assert int(np.argmax(without)) != 30 - 12
    assert with_.authors is not None and with_.authors[30 - 12] > 0
