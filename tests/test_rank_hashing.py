"""Our feature hashing is scikit-learn's HashingVectorizer and FeatureHasher, column for
column: stored features stay valid while featurizing no longer imports scikit-learn."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer, strip_accents_unicode

from mlradar._rank import features
from mlradar._rank.features import (
    AUTHOR_FEATURES,
    LexicalConfig,
    LexicalEncoder,
    author_rows,
    hash_columns,
    normalize_author,
)
from mlradar._rank.terms import TOKEN_PATTERN, term_column


def sklearn_tf(texts: list[str], config: LexicalConfig) -> sp.csr_matrix:
    """What LexicalEncoder stored before it dropped scikit-learn (its code then)."""
    hasher = HashingVectorizer(
        n_features=config.n_features,
        strip_accents=strip_accents_unicode,
        lowercase=True,
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, config.ngram_max),
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    tf = sp.csr_matrix(hasher.transform(texts), dtype=np.float32)
    tf.sum_duplicates()
    np.log(tf.data, out=tf.data)
    tf.data += 1.0
    return tf


def sklearn_authors(authors: list[list[str]]) -> sp.csr_matrix:
    hasher = FeatureHasher(
        n_features=AUTHOR_FEATURES, input_type="string", alternate_sign=False, dtype=np.float32
    )
    names = ([normalize_author(a) for a in row if a.strip()] for row in authors)
    rows = sp.csr_matrix(hasher.transform(names), dtype=np.float32)
    rows.sum_duplicates()
    rows.data[:] = 1.0
    return rows


def assert_same(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> None:
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype == np.float32
    assert np.array_equal(ours.indptr, theirs.indptr)
    assert np.array_equal(ours.indices, theirs.indices)
    assert np.array_equal(ours.data, theirs.data)


WORDS = st.sampled_from(
    ["the", "deep", "Learning", "naïve", "Ünïcode", "x1", "_a", "of", "ab", "a", "9b", "Ƒoo"]
)
TEXT = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
    st.lists(WORDS, max_size=30).map(" ".join),
)


@settings(max_examples=300)
@given(
    st.lists(TEXT, min_size=1, max_size=6),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([64, 1 << 20]),
)
def test_term_frequencies_equal_scikit_learn(texts: list[str], ngram_max: int, width: int) -> None:
    config = LexicalConfig(n_features=width, ngram_max=ngram_max)
    assert_same(LexicalEncoder(config).term_frequencies(texts), sklearn_tf(texts, config))


@settings(max_examples=200)
@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=30), max_size=5),
        min_size=1,
    )
)
def test_author_rows_equal_scikit_learn(authors: list[list[str]]) -> None:
    assert_same(author_rows(authors), sklearn_authors(authors))


def test_the_hash_overflow_column_is_scikit_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    # No short string we know hashes to INT_MIN, where scikit-learn's int32 abs() would
    # overflow and it uses a stated column instead: force that hash.
    monkeypatch.setattr(features.mmh3, "hash", lambda term, *_a, **_k: -(2**31))
    for width in (64, 1000, 1 << 20):
        stated = (2147483647 - (width - 1)) % width
        assert list(hash_columns(["x"], width)) == [stated]
        assert term_column("x", width) == stated


@pytest.mark.slow
def test_real_papers_and_feeds_hash_alike(shared_data: Path) -> None:
    texts: list[str] = []
    authors: list[list[str]] = []
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rt") as f:
        for line in itertools.islice(f, 3000):
            paper = json.loads(line)
            texts.append(f"{paper.get('title', '')}. {paper.get('abstract', '')}")
            authors.append((paper.get("authors") or "").split(", "))
    for path in sorted((shared_data / "feeds").rglob("*.xml"))[:60]:
        texts.append(path.read_text("utf-8", errors="replace")[:20_000])
    config = LexicalConfig()
    assert_same(LexicalEncoder(config).term_frequencies(texts), sklearn_tf(texts, config))
    assert_same(author_rows(authors), sklearn_authors(authors))


def test_a_lone_surrogate_never_reaches_the_hash() -> None:
    # mmh3 5.3 crashes the process on a str holding a lone surrogate (text decoded with
    # surrogateescape can hold one); tokens are ASCII and names are normalized first.
    # A subprocess, so that a crash fails this test instead of killing the suite.
    code = (
        "from mlradar._rank.features import LexicalEncoder, author_rows\n"
        "tf = LexicalEncoder().term_frequencies(['deep \\udc80learning x\\ud800y'])\n"
        "rows = author_rows([['Ada \\ud800Lovelace', '\\udcff']])\n"
        "print(tf.nnz, rows.nnz)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # deep, learning, "deep learning"; "ada lovelace" and the name left empty.
    assert done.stdout.split() == ["3", "2"]
