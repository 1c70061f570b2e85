"""Atom documents with feedgen (lxml underneath: nothing is hand-written XML).

Feed text goes in as text: titles and summaries are escaped by the XML writer; HTML
content (already sanitized when stored) is sanitized again with nh3 and sent as
``type="html"``.  Characters XML 1.0 cannot carry (control characters, lone surrogates)
are dropped first: lxml refuses them, and one hostile title must not break a feed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import nh3

#: Everything XML 1.0 does not allow in text.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str | None) -> str:
    """``value`` without the characters XML 1.0 cannot carry, whitespace kept."""
    return _NOT_XML.sub("", value or "")


@dataclass(frozen=True, slots=True)
class OutEntry:
    """One entry of an Atom feed, as the facade reads it from a view."""

    id: str
    """A stable IRI: the arXiv abstract URL, or ``tag:`` URI of an item."""
    title: str
    updated: datetime
    link: str | None = None
    summary: str | None = None
    """Plain text."""
    content_html: str | None = None
    author: str | None = None
    categories: Sequence[str] = ()
    published: datetime | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _http(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return xml_text(url)
    return None


def build_atom(
    *,
    feed_id: str,
    title: str,
    entries: Sequence[OutEntry],
    self_url: str | None = None,
    alternate_url: str | None = None,
    subtitle: str | None = None,
    updated: datetime | None = None,
) -> bytes:
    """An Atom 1.0 document (UTF-8 bytes) of ``entries``, in the order given."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(xml_text(feed_id))
    fg.title(xml_text(title) or "mlradar")
    fg.author({"name": "mlradar"})
    fg.generator("mlradar")
    if subtitle:
        fg.subtitle(xml_text(subtitle))
    if _http(alternate_url):
        fg.link(href=_http(alternate_url), rel="alternate")
    if _http(self_url):
        fg.link(href=_http(self_url), rel="self")
    newest = max((_aware(e.updated) for e in entries), default=None)
    fg.updated(updated or newest or datetime.now(UTC))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(xml_text(e.id))
        fe.title(xml_text(e.title) or "(untitled)")
        fe.updated(_aware(e.updated))
        if e.published is not None:
            fe.published(_aware(e.published))
        link = _http(e.link)
        if link:
            fe.link(href=link, rel="alternate")
        if e.author and xml_text(e.author).strip():
            fe.author({"name": xml_text(e.author).strip()})
        for term in e.categories:
            cleaned = xml_text(term).strip()
            if cleaned:
                fe.category(term=cleaned)
        if e.summary:
            fe.summary(xml_text(e.summary))
        if e.content_html:
            fe.content(xml_text(nh3.clean(e.content_html)), type="html")
        elif link is None:
            # Atom wants an alternate link or content: without a link, the text is the content.
            fe.content(xml_text(e.summary or e.title) or "(empty)", type="text")
    data: bytes = fg.atom_str(pretty=False)
    return data


__all__ = ["OutEntry", "build_atom", "xml_text"]
