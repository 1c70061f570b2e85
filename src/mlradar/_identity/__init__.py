"""Canonical identity: URLs, arXiv ids, DOIs and feed-entry keys.

These pure functions decide when two records from different sources are the same paper
or story, so every layer that joins records uses them.
"""

from __future__ import annotations

from mlradar._identity.arxiv import extract_arxiv_ids, parse_arxiv_id
from mlradar._identity.doi import extract_dois, normalize_doi
from mlradar._identity.entries import content_hash, entry_key
from mlradar._identity.urls import canonical_url_or_none, canonicalize_url

__all__ = [
    "canonical_url_or_none",
    "canonicalize_url",
    "content_hash",
    "entry_key",
    "extract_arxiv_ids",
    "extract_dois",
    "normalize_doi",
    "parse_arxiv_id",
]
