"""Entries from JSON APIs (Hacker News, Reddit): built exactly as feed entries are.

A connector that reads an API rather than a feed hands the fields it found to
:func:`api_entry`, which runs them through the feed parser's own normalisation: nh3
sanitizing, plain text for search, arXiv ids, DOIs, OpenReview/PMLR refs and links, the
entry key and the content hash.  Nothing here sanitizes on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from mlradar._model import DiscussionSignal, ParsedEntry
from mlradar._sources.feed import MAX_LINKS, _build_entry, _http_url, _RawEntry


def api_entry(
    *,
    guid: str,
    link: str | None,
    title: str | None,
    author: str | None,
    html: str | None,
    base_url: str,
    published_at: datetime | None,
    categories: Sequence[str] = (),
    discussion: DiscussionSignal | None = None,
    fallback_link: str | None = None,
) -> ParsedEntry:
    """One entry of an API listing.

    ``link`` is what the entry points to (a story's URL); it is kept among ``links`` too,
    because a discussion joins the page it links.  ``html`` is untrusted (a self-post's
    body) and is sanitized against ``base_url``.  The discussion signal is not part of the
    content hash: points that move update the item without counting it as changed.
    ``fallback_link`` is linked instead when ``link`` is no http(s) URL (``javascript:``).
    """
    raw = _RawEntry(
        guid=guid,
        link=_http_url(link, base_url) or _http_url(fallback_link, base_url),
        title=title,
        author=author,
        summary_html=None,
        content_html=html or None,
        html_base=base_url,
        categories=tuple(categories),
        published_at=published_at,
        updated_at=None,
    )
    entry = _build_entry(raw)
    links = entry.links
    if entry.url is not None and entry.url not in links:
        links = (entry.url, *links)[:MAX_LINKS]
    return replace(entry, links=links, discussion=discussion)
