"""What conference connectors share: a paper read from a venue becomes one entry.

OpenReview and PMLR give metadata, not posts: each accepted paper is stored as a
:class:`~mlradar.types.Paper` (joined to its arXiv record by identifier or title, see
:mod:`mlradar._papers`) and listed as one item of the venue's source, keyed by its venue
identifier so that re-reading the venue updates the item in place.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from mlradar._content.html import html_to_text, sanitize_html
from mlradar._identity import content_hash
from mlradar._identity.doi import normalize_doi
from mlradar._identity.urls import canonical_url_or_none
from mlradar._model import ParsedEntry
from mlradar.exceptions import InvalidInputError
from mlradar.types import Paper

#: Longest abstract kept in an entry's text (the paper record keeps it whole).
MAX_ABSTRACT_CHARS = 20_000


def _doi(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        return (normalize_doi(value),)
    except InvalidInputError:
        return ()


def paper_entry(
    paper: Paper,
    *,
    key: str,
    published_at: datetime | None = None,
    categories: Sequence[str] = (),
) -> ParsedEntry:
    """The item a venue's paper becomes: its landing page, authors, abstract and venue.

    The abstract is plain text from an API: escaped, then sanitized like any feed's HTML,
    so what is stored is what a feed entry would store.
    """
    abstract = paper.abstract[:MAX_ABSTRACT_CHARS]
    summary = sanitize_html(f"<p>{html.escape(abstract)}</p>", paper.url) if abstract else None
    author = ", ".join(paper.authors) or None
    link = paper.url or paper.pdf
    refs = tuple((i.scheme, i.value) for i in paper.ids if i.scheme != "title")
    cats = tuple(dict.fromkeys(c for c in (paper.venue, *categories) if c))
    return ParsedEntry(
        key=key,
        url=canonical_url_or_none(link),
        link=link,
        title=paper.title,
        author=author,
        summary_html=summary or None,
        content_html=None,
        text=html_to_text(summary) if summary else "",
        categories=cats,
        published_at=published_at,
        updated_at=None,
        arxiv_ids=(paper.arxiv_id,) if paper.arxiv_id else (),
        dois=_doi(paper.doi),
        content_hash=content_hash(
            [paper.title, author, abstract, paper.venue, paper.pdf, paper.arxiv_id, *cats]
        ),
        links=tuple(u for u in (canonical_url_or_none(paper.pdf),) if u and u != link),
        refs=refs,
    )
