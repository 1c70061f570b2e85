"""Our incremental lexical features and arxiv-sanity-lite's vectorizer."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mlradar._rank.features import DocFreq, LexicalConfig, LexicalEncoder, sanity_vectorizer

TEXTS = [
    "Diffusion models for video generation",
    "Video diffusion with temporal attention",
    "Graph neural networks for molecules",
    "Speech recognition at scale",
]


def test_term_frequencies_are_sublinear_and_deterministic() -> None:
    enc = LexicalEncoder()
    tf = enc.term_frequencies(["video video video generation"])
    again = LexicalEncoder().term_frequencies(["video video video generation"])
    assert (tf != again).nnz == 0  # hashing needs no fitted state
    assert np.isclose(tf.data.max(), 1 + np.log(3))
    assert tf.shape[1] == enc.config.n_features


def test_document_frequencies_grow_incrementally_like_a_batch() -> None:
    enc = LexicalEncoder()
    first, second = enc.term_frequencies(TEXTS[:2]), enc.term_frequencies(TEXTS[2:])
    incremental = enc.empty_df().add(first).add(second)
    batch = enc.empty_df().add(enc.term_frequencies(TEXTS))
    assert incremental.n_docs == batch.n_docs == 4
    assert np.array_equal(incremental.counts, batch.counts)
    removed = incremental.remove(second)
    assert np.array_equal(removed.counts, enc.empty_df().add(first).counts)


def test_idf_zeroes_terms_outside_the_document_frequency_band() -> None:
    enc = LexicalEncoder(LexicalConfig(n_features=64, ngram_max=1, max_df=0.5, min_df=2))
    counts = np.zeros(64, dtype=np.int32)
    counts[[1, 2, 3]] = [1, 3000, 9000]
    idf = enc.idf(DocFreq(counts, 10_000))
    assert idf[1] == 0  # below min_df
    assert idf[2] > 0
    assert idf[3] == 0  # above max_df
    assert idf[0] == 0  # never seen
    # A small corpus keeps every seen term: its topic words are what it is about.
    small = enc.idf(DocFreq(np.array([0, 1, 3, 9] + [0] * 60, dtype=np.int32), 10))
    assert small[1] > 0
    assert small[3] > 0
    assert small[0] == 0


def test_weigh_gives_unit_rows() -> None:
    enc = LexicalEncoder(LexicalConfig(min_df=1, max_df=1.0))
    tf = enc.term_frequencies(TEXTS)
    x = enc.weigh(tf, enc.idf(enc.empty_df().add(tf)))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0, atol=1e-5)
    sims = (x @ x.T).toarray()
    assert sims[0, 1] > sims[0, 2]  # the two video-diffusion papers are nearest


def test_sanity_vectorizer_matches_arxiv_sanity_lite_settings() -> None:
    v = sanity_vectorizer()
    params = v.get_params()
    assert params["ngram_range"] == (1, 2)
    assert params["max_features"] == 20_000
    assert params["min_df"] == 5
    assert params["max_df"] == 0.1
    assert params["sublinear_tf"]
    assert params["stop_words"] == "english"
    x = sanity_vectorizer(min_df=1, max_df=1.0).fit_transform(TEXTS)
    assert sp.issparse(x)
    assert x.shape[0] == 4
