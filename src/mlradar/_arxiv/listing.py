"""arXiv as a source: daily listings of categories, or a standing API query (the parsing;
the connector is :mod:`mlradar._connectors.arxiv`).

``mlradar sources add arxiv:cs.LG`` (or ``arxiv:cs.LG,cs.CL``) follows the categories'
daily listing feed (``rss.arxiv.org/rss/cs.LG+cs.CL``): one request a day brings the new
papers, cross-lists and replacements.  ``arxiv:"diffusion" AND cat:cs.CV`` (anything that
is not a list of categories) follows an API query sorted by submission date.

Each paper becomes one entry keyed ``id:arxiv:<id>`` (so a paper announced on several days
or in several categories is one item per source) and one :class:`~mlradar.types.Paper`
(so every source that names it joins on one paper record).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from mlradar._arxiv.records import (
    ARCHIVES,
    clean_categories,
    clean_optional,
    clean_text,
    identify,
    is_category,
    split_authors,
    versions_upto,
)
from mlradar._content.xml import local_name, parse_xml, text_of
from mlradar._identity import content_hash
from mlradar._identity.doi import normalize_doi
from mlradar._model import ParsedEntry, ParsedFeed
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import Paper

RSS_ACCEPT = "application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
#: Papers an API-query source reads per update (newest first).
DEFAULT_QUERY_RESULTS = 100
MAX_QUERY_CHARS = 1000

_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_CATEGORY_LIST = re.compile(r"[A-Za-z][\w.*-]*(?:\s*[,+ ]\s*[A-Za-z][\w.*-]*)*")


# -- the source spec -------------------------------------------------------------------------


def _is_category_list(tokens: Sequence[str]) -> bool:
    return bool(tokens) and all(is_category(t) or t in ARCHIVES for t in tokens)


def parse_arxiv_source(spec: str) -> tuple[str, dict[str, Any]]:
    """``arxiv:cs.LG,cs.CL`` or ``arxiv:<API query>`` -> (source URL to store, config).

    Categories are deduplicated and sorted, so ``arxiv:cs.CL,cs.LG`` and
    ``arxiv:cs.LG, cs.CL`` are the same source.  Raises InvalidInputError on a bad spec.
    """
    text = spec.strip()
    if text.lower().startswith("arxiv:"):
        text = text[len("arxiv:") :].strip()
    if not text:
        raise InvalidInputError(
            "empty arXiv source: use arxiv:cs.LG, arxiv:cs.LG,cs.CL or arxiv:<API query>"
        )
    if _CATEGORY_LIST.fullmatch(text):
        # "cs.*" and "cs" both mean the whole archive, which is what its listing holds.
        tokens = [t.removesuffix(".*") for t in re.split(r"[\s,+]+", text) if t]
        if _is_category_list(tokens):
            from mlradar._arxiv.taxonomy import unknown_category

            for token in tokens:
                problem = unknown_category(token)
                if problem:
                    raise InvalidInputError(problem)
            cats = sorted(set(tokens))
            return "arxiv:" + ",".join(cats), {"mode": "listing", "categories": cats}
    query = " ".join(text.split())
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the arXiv query is longer than {MAX_QUERY_CHARS} characters")
    if query.count('"') % 2 or query.count("(") != query.count(")"):
        raise InvalidInputError(f"unbalanced quotes or parentheses in arXiv query {query!r}")
    return "arxiv:" + query, {"mode": "query", "query": query}


_LISTING_URL = re.compile(r"^https?://(?:rss\.|export\.)?arxiv\.org/(?:rss|atom)/([^/?#]+)", re.I)


def listing_categories(url: str) -> tuple[str, ...]:
    """The categories a source lists: ``arxiv:cs.LG,stat.ML`` or arXiv's own listing feed
    URL (``https://rss.arxiv.org/rss/cs.LG+stat.ML``); () for anything else."""
    if url.lower().startswith("arxiv:"):
        try:
            _, config = parse_arxiv_source(url)
        except InvalidInputError:
            return ()
        return tuple(config.get("categories", ()))
    m = _LISTING_URL.match(url.strip())
    return tuple(t for t in re.split(r"[+,]", m.group(1)) if t) if m else ()


# -- the daily listing feed --------------------------------------------------------------------


def _pub_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def paper_from_rss_item(item: etree._Element) -> tuple[Paper, str | None, datetime | None]:
    """(paper, announce type, announce datetime) of one listing ``<item>``."""
    description = text_of(item.find("description")) or ""
    m = _DESCRIPTION.match(description)
    ref = (
        m.group("id")
        if m
        else (text_of(item.find("guid")) or text_of(item.find("link")) or "").removeprefix(
            "oai:arXiv.org:"
        )
    )
    arxiv_id, version, title = identify(ref, text_of(item.find("title")))
    extra: dict[str, str] = {}
    creators: list[str] = []
    for child in item:
        name = local_name(child).lower()
        if name == "creator":
            creators.append(text_of(child) or "")
        elif name in ("journal_reference", "journal_ref", "doi", "announce_type", "rights"):
            extra[name] = text_of(child) or ""
    announce_type = (m.group("type") if m else None) or extra.get("announce_type") or None
    announced = _pub_date(text_of(item.find("pubDate")))
    day = announced.date() if announced else None
    is_first = version in (None, 1) and announce_type in (None, "new", "cross")
    last = version or 1
    return (
        Paper(
            arxiv_id=arxiv_id,
            title=title,
            authors=tuple(n for c in creators for n in split_authors(c)),
            categories=clean_categories(text_of(c) or "" for c in item.iterfind("category")),
            abstract=clean_text(description[m.end() :] if m else description),
            first_version_at=day if is_first else None,
            updated_at=day,
            versions=versions_upto(last, {}),
            journal_ref=clean_optional(extra.get("journal_reference") or extra.get("journal_ref")),
            doi=clean_optional(extra.get("doi")),
            license=clean_optional(extra.get("rights")),
        ),
        announce_type,
        announced,
    )


def parse_listing(content: bytes, url: str) -> tuple[ParsedFeed, tuple[Paper, ...]]:
    """A daily listing feed (RSS 2.0 with arXiv's extensions) as entries and papers."""
    root = parse_xml(content, url)
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise ParseError(url, "not an RSS listing feed")
    entries: list[ParsedEntry] = []
    papers: list[Paper] = []
    problems = 0
    for item in channel.iterfind("item"):
        try:
            paper, _, announced = paper_from_rss_item(item)
        except InvalidInputError:
            problems += 1
            continue
        papers.append(paper)
        entries.append(entry_for(paper, published_at=announced))
    warning = f"{problems} listing items without an arXiv id were skipped" if problems else None
    return (
        ParsedFeed(
            title=clean_optional(text_of(channel.find("title"))),
            home_url=clean_optional(text_of(channel.find("link"))),
            entries=tuple(entries),
            warning=warning,
        ),
        tuple(papers),
    )


def entry_for(
    paper: Paper, *, published_at: datetime | None = None, updated_at: datetime | None = None
) -> ParsedEntry:
    """The item a paper becomes in an arXiv source (``paper`` is an arXiv paper)."""
    if paper.arxiv_id is None:
        raise InvalidInputError(f"{paper.title!r} is not an arXiv paper")
    doi: tuple[str, ...] = ()
    if paper.doi:
        try:
            doi = (normalize_doi(paper.doi),)
        except InvalidInputError:
            doi = ()
    author = ", ".join(paper.authors) or None
    summary = f"<p>{html.escape(paper.abstract)}</p>" if paper.abstract else None
    last_version = str(paper.versions[-1].version) if paper.versions else None
    return ParsedEntry(
        key=f"id:arxiv:{paper.arxiv_id}",
        url=paper.abs_url,
        link=paper.abs_url,
        title=paper.title,
        author=author,
        summary_html=summary,
        content_html=None,
        text=paper.abstract,
        categories=paper.categories,
        published_at=published_at,
        updated_at=updated_at,
        arxiv_ids=(paper.arxiv_id,),
        dois=doi,
        content_hash=content_hash(
            [
                paper.title,
                author,
                paper.abstract,
                " ".join(paper.categories),
                paper.comments,
                paper.journal_ref,
                paper.doi,
                last_version,
            ]
        ),
    )
