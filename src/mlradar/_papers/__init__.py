"""Papers across sources: what identifies one, and how two records of it become one.

A paper may come from arXiv (a snapshot, a listing, the API), from a conference's
proceedings (OpenReview, PMLR) or from Semantic Scholar.  Each record carries identifiers
(:class:`~mlradar.types.PaperId`); two records sharing one are the same paper, unless
they disagree on a *strong* identifier (two different arXiv ids are two papers, whatever
DOI a careless record gives both).

Everything here is a pure decision: storage hands in what it has, :func:`plan_paper_writes`
says what to write, storage writes it (:mod:`mlradar._storage._papers`).
"""

from mlradar._papers.identity import (
    STRONG_SCHEMES,
    paper_keys,
    parse_paper_ref,
    title_key,
)
from mlradar._papers.merge import (
    merge_papers,
    paper_hash,
    paper_row,
    plan_paper_writes,
    title_match,
)
from mlradar._papers.store import PaperStore, store_paper_rows, store_papers

__all__ = [
    "STRONG_SCHEMES",
    "PaperStore",
    "merge_papers",
    "paper_hash",
    "paper_keys",
    "paper_row",
    "parse_paper_ref",
    "plan_paper_writes",
    "store_paper_rows",
    "store_papers",
    "title_key",
    "title_match",
]
