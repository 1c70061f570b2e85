"""The ranking index of one database: a feature store kept in step with it, and queries.

:class:`RankIndex` is both sides of one index: the writer (:mod:`.index_write`: featurize
new and changed rows) and the reader (:mod:`.index_query`: candidates, channel scores,
explanations, nearest neighbours), over the files they share (:mod:`.index_base`).  A
user's profile is built from its rows by :mod:`.profile`.  Open it with
``writable=False`` where nothing may be written (every read path of the facade).
"""

from __future__ import annotations

from mlradar._model import TextRow
from mlradar._rank.index_base import doc_text, text_fingerprint
from mlradar._rank.index_query import (
    IndexQuery,
    Ranked,
    SharedTerm,
    Shortlist,
    channel_lifted,
    fuse_rrf,
    rank_all,
    rank_many,
)
from mlradar._rank.index_write import AuthorSource, IndexWriter, TextSource
from mlradar._rank.profile import author_columns, author_counts, profile_of


class RankIndex(IndexWriter, IndexQuery):
    """Features of one kind of record (papers or items), stored beside the database."""


__all__ = [
    "AuthorSource",
    "RankIndex",
    "Ranked",
    "SharedTerm",
    "Shortlist",
    "TextRow",
    "TextSource",
    "author_columns",
    "author_counts",
    "channel_lifted",
    "doc_text",
    "fuse_rrf",
    "profile_of",
    "rank_all",
    "rank_many",
    "text_fingerprint",
]
