"""Lexical features: arxiv-sanity-lite's TF-IDF (the baseline) and our incremental one.

Ours hashes 1-2-grams into a fixed space, so a new paper's features are computed
from its own text alone: no vocabulary to refit, nothing to recompute for old papers.
What we persist per paper is its sublinear term frequencies; inverse document
frequencies come from a document-frequency vector that grows with the corpus and
is applied at query time, so the weighting stays current without touching stored rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mmh3
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from mlradar._content.text import strip_accents
from mlradar._rank.terms import TOKEN_PATTERN, analyze

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

FloatArray = npt.NDArray[np.float32]


def sanity_vectorizer(
    max_features: int = 20_000, min_df: int = 5, max_df: float = 0.1
) -> TfidfVectorizer:
    """arxiv-sanity-lite's ``compute.py`` vectorizer, parameter for parameter."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        max_features=max_features,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=max_df,
        min_df=min_df,
        dtype=np.float32,
    )


#: Corpus sizes from which the document-frequency bounds of :class:`LexicalConfig` apply.
MIN_DOCS_FOR_MIN_DF = 1000
MIN_DOCS_FOR_MAX_DF = 300


@dataclass(frozen=True, slots=True)
class DocFreq:
    """How many documents contain each hashed term, out of ``n_docs``."""

    counts: npt.NDArray[np.int32]
    n_docs: int

    def add(self, tf: sp.csr_matrix) -> DocFreq:
        """The frequencies after adding the documents whose term rows are ``tf``."""
        present = np.bincount(tf.indices, minlength=self.counts.shape[0]).astype(np.int32)
        return DocFreq(self.counts + present, self.n_docs + tf.shape[0])

    def remove(self, tf: sp.csr_matrix) -> DocFreq:
        present = np.bincount(tf.indices, minlength=self.counts.shape[0]).astype(np.int32)
        return DocFreq(np.maximum(self.counts - present, 0), max(self.n_docs - tf.shape[0], 0))


@dataclass(frozen=True, slots=True)
class LexicalConfig:
    n_features: int = 1 << 20
    ngram_max: int = 2
    #: Terms in more than this share of documents carry no weight (as arxiv-sanity's max_df).
    max_df: float = 0.1
    #: Terms seen in fewer documents than this carry no weight: typos and one-offs.
    min_df: int = 2


def hash_columns(terms: Sequence[str], n_features: int) -> npt.NDArray[np.int32]:
    """The column of each term, as scikit-learn's ``FeatureHasher`` computes it
    (MurmurHash3 x86 32-bit, seed 0, ``abs(h) % n_features``), for many terms at once."""
    # mmh3 encodes a str as UTF-8 itself; it must never see a lone surrogate (mmh3 5.3
    # crashes on one), which the ASCII token pattern and the name normalizer exclude.
    # In int64, abs(-2**31) does not overflow: its column is the one scikit-learn
    # special-cases for its int32, (2**31 - 1 - (n_features - 1)) % n_features.
    h = np.fromiter(map(mmh3.hash, terms), dtype=np.int64, count=len(terms))
    return (np.abs(h) % n_features).astype(np.int32)


def hashed_counts(docs: Iterable[Sequence[str]], n_features: int) -> sp.csr_matrix:
    """One row per document of how many times each hashed column occurs among its terms."""
    terms: list[str] = []
    indptr = [0]
    for doc in docs:
        terms += doc
        indptr.append(len(terms))
    counts = sp.csr_matrix(
        (np.ones(len(terms), dtype=np.float32), hash_columns(terms, n_features), indptr),
        shape=(len(indptr) - 1, n_features),
    )
    counts.sum_duplicates()
    return counts


class LexicalEncoder:
    """Hashed 1-2-gram sublinear term frequencies, weighted by a live IDF.

    The terms and columns are scikit-learn's ``HashingVectorizer``'s (its analyzer and
    hash, repeated in :mod:`mlradar._rank.terms` and :func:`hash_columns`; a test holds
    them equal): features stored by earlier versions stay valid, and featurizing new text
    needs neither scikit-learn's second-long import nor its per-term Python loop.
    """

    def __init__(self, config: LexicalConfig | None = None) -> None:
        self.config = config or LexicalConfig()

    def empty_df(self) -> DocFreq:
        return DocFreq(np.zeros(self.config.n_features, dtype=np.int32), 0)

    def term_frequencies(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Sublinear (1 + log tf) hashed term frequencies: what is persisted per paper."""
        ngram_max = self.config.ngram_max
        tf = hashed_counts((analyze(t, ngram_max) for t in texts), self.config.n_features)
        np.log(tf.data, out=tf.data)
        tf.data += 1.0
        return tf

    def idf(self, df: DocFreq) -> FloatArray:
        """Smoothed IDF, zero outside [min_df, max_df]: the weight vector applied at query time."""
        counts = df.counts.astype(np.float32)
        weights = np.log((1.0 + df.n_docs) / (1.0 + counts)) + 1.0
        # The bounds are corpus statistics: on a small library they would zero out its
        # topic words (in a 30-paper corpus every topic word is "frequent"), so they apply
        # only once the corpus is large enough for frequencies to mean something.
        min_df = self.config.min_df if df.n_docs >= MIN_DOCS_FOR_MIN_DF else 1
        max_df = self.config.max_df if df.n_docs >= MIN_DOCS_FOR_MAX_DF else 1.0
        keep = (counts >= min_df) & (counts <= max_df * max(df.n_docs, 1))
        return np.where(keep, weights, 0.0).astype(np.float32)

    @staticmethod
    def weigh(tf: sp.csr_matrix, idf: FloatArray) -> sp.csr_matrix:
        """TF-IDF rows, L2-normalized, from stored term frequencies and the current IDF."""
        tf = sp.csr_matrix(tf)
        data = tf.data.astype(np.float32, copy=False) * idf[tf.indices]
        lengths = np.diff(tf.indptr)
        sums = np.zeros(len(lengths), dtype=np.float32)
        nonempty = lengths > 0
        # reduceat over the starts of non-empty rows: one pass, no per-row Python.
        if data.size:
            sums[nonempty] = np.add.reduceat(data * data, tf.indptr[:-1][nonempty])
        norms = np.sqrt(sums)
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, lengths)
        # Indices and pointers are shared with ``tf``: only the values are new.
        return sp.csr_matrix((data, tf.indices, tf.indptr), shape=tf.shape)


#: Width of the hashed author space: collisions among a few million names stay rare.
AUTHOR_FEATURES = 1 << 20
_NOT_NAME = re.compile(r"[^\w\s-]+")


def normalize_author(name: str) -> str:
    """One spelling per name: accents, case, dots and spacing do not make a new author.

    "Rémi  Munos" and "remi munos" are one column; "R. Munos" stays another, because an
    initial is as likely another person as the same one.
    """
    plain = strip_accents(name)
    return " ".join(_NOT_NAME.sub(" ", plain).lower().split())


def author_rows(authors: Iterable[Sequence[str]]) -> sp.csr_matrix:
    """One binary row per paper over the hashed, normalized names of its authors (the
    columns scikit-learn's ``FeatureHasher`` gives them)."""
    names = ([normalize_author(a) for a in row if a.strip()] for row in authors)
    rows = hashed_counts(names, AUTHOR_FEATURES)
    rows.data[:] = 1.0
    return rows


def top_terms(
    weights: FloatArray | sp.csr_matrix, names: Sequence[str] | None, k: int = 5
) -> tuple[int, ...]:
    """Indices of the ``k`` largest entries of one weight row (dense or 1-row sparse)."""
    if sp.issparse(weights):
        row = sp.csr_matrix(weights)
        order = np.argsort(-row.data)[:k]
        return tuple(int(row.indices[i]) for i in order if row.data[i] > 0)
    dense = np.asarray(weights).ravel()
    order = np.argsort(-dense)[:k]
    return tuple(int(i) for i in order if dense[i] > 0)


#: What a paper's comments say when it links code or a project page: a URL, a code host,
#: or the words for one ("Code is available", "Project page").
_LINKS_CODE = re.compile(
    r"https?://|www\.|github|gitlab|huggingface\.co|\bcode\b|project page|\.github\.io",
    re.IGNORECASE,
)


def links_code(comments: str | None) -> bool:
    """Whether arXiv comments point at code or a project page (``Code: https://github...``)."""
    return bool(comments) and _LINKS_CODE.search(comments or "") is not None
