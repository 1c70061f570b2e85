"""OpenReview venues: the accepted papers of ``openreview:ICLR.cc/2025/Conference``.

Read through API v2 (``/notes?content.venueid=<venue>&offset=&limit=``, paged): a venue's
accepted papers are the notes whose ``content.venueid`` is the venue itself (rejected and
withdrawn ones carry ``.../Rejected_Submission`` and the like).  Every content field is
``{"value": ...}``.  ``content.venue`` says where and how it was accepted (``ICLR 2025
Oral``): it becomes the paper's venue, so the decision shows with it.

Each note becomes a :class:`~mlradar.types.Paper` known by ``("openreview", forum)`` (and
by its arXiv id when the venue's form asks for one), which joins its arXiv record by that
id, else by title and first author, and an item of the source linking the forum.

OpenReview publishes no rate limit; one connection, a second between requests, is gentle.
A venue's accepted list changes rarely after its decisions, so it is read once a day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
)
from mlradar._connectors.proceedings import paper_entry
from mlradar._fetch import HostPolicy
from mlradar._identity.arxiv import extract_arxiv_ids
from mlradar._identity.venues import OPENREVIEW_HOSTS
from mlradar._model import ParsedEntry
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import Paper, PaperId

#: Notes read from one venue at most (NeurIPS accepts about 4,500 a year).
MAX_NOTES = 20_000
#: A venue's accepted list is read again after this long.
REFRESH_SECONDS = 24 * 3600
JSON_ACCEPT = "application/json"

# ICLR.cc/2025/Conference, NeurIPS.cc/2024/Conference, TMLR: group ids are path-like.
_VENUE = re.compile(r"^[A-Za-z0-9][\w.-]*(?:/[\w.-]+)*$")
#: Content fields in which some venues' forms give the paper's arXiv id or link.
_ARXIV_FIELDS = ("arxiv", "arXiv", "arxiv_id", "arxiv_link", "arxiv_url", "preprint")


def parse_venue(text: str) -> str | None:
    """The venue id of ``openreview:ICLR.cc/2025/Conference`` or of a venue page
    (``https://openreview.net/group?id=ICLR.cc/2025/Conference#tab-accept-oral``); None
    when ``text`` is neither.  InvalidInputError when it is one but names no venue."""
    raw = text.strip()
    if raw.lower().startswith("openreview:"):
        venue = raw[len("openreview:") :].strip()
    else:
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in OPENREVIEW_HOSTS:
            return None
        if parts.path.rstrip("/") != "/group":
            raise InvalidInputError(
                f"{raw}: follow a venue page, https://openreview.net/group?id=ICLR.cc/2025/Conference"
            )
        venue = (parse_qs(parts.query).get("id") or [""])[0].strip()
    if not _VENUE.match(venue) or "/-/" in venue:
        raise InvalidInputError(
            f"{venue or raw!r} is not an OpenReview venue id (like ICLR.cc/2025/Conference)"
        )
    return venue


def venue_title(venue: str) -> str:
    """``ICLR.cc/2025/Conference`` -> ``ICLR 2025 Conference (OpenReview)``."""
    words = [p.removesuffix(".cc") for p in venue.split("/")]
    return " ".join(words) + " (OpenReview)"


def _value(content: Mapping[str, Any], name: str) -> Any:
    """A content field's value: API v2 wraps each one as ``{"value": ...}``."""
    field = content.get(name)
    return field.get("value") if isinstance(field, Mapping) else None


def _text(content: Mapping[str, Any], name: str) -> str | None:
    value = _value(content, name)
    return " ".join(value.split()) or None if isinstance(value, str) else None


def _day(ms: object) -> datetime | None:
    if isinstance(ms, int | float) and not isinstance(ms, bool) and ms > 0:
        try:
            return datetime.fromtimestamp(ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _absolute(url: str | None, base: str) -> str | None:
    if not url:
        return None
    if url.startswith("/"):
        return base.rstrip("/") + url
    return url if url.startswith(("http://", "https://")) else None


def _arxiv_id(content: Mapping[str, Any]) -> str | None:
    for name in _ARXIV_FIELDS:
        value = _value(content, name)
        if isinstance(value, str):
            found = extract_arxiv_ids(value if "arxiv" in value.lower() else f"arXiv:{value}")
            if found:
                return found[0]
    return None


@dataclass(frozen=True, slots=True)
class NotesPage:
    """One page of a venue's notes, read."""

    papers: tuple[Paper, ...]
    entries: tuple[ParsedEntry, ...]
    notes: int
    """Notes on the page, those skipped included (paging goes by it)."""
    count: int | None
    """How many notes the venue has, when the API says."""
    skipped: tuple[str, ...] = ()
    """One reason per note that could not be read."""


def parse_notes(content: bytes, url: str, site: str) -> NotesPage:
    """A ``/notes`` response as papers and entries; ``site`` is where forums are linked.

    A response of another shape is a ParseError naming what was wrong; a note without an
    id or a title is skipped with its reason.
    """
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ParseError(url, f"the OpenReview API did not answer JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ParseError(
            url, f"the OpenReview API answered a JSON {type(doc).__name__}, not an object"
        )
    notes = doc.get("notes")
    if not isinstance(notes, list):
        raise ParseError(url, "the OpenReview API answer has no 'notes' list")
    count = doc.get("count")
    papers: list[Paper] = []
    entries: list[ParsedEntry] = []
    skipped: list[str] = []
    for n, note in enumerate(notes):
        problem = _note_problem(note)
        if problem:
            skipped.append(f"note {n}: {problem}")
            continue
        paper, published, keywords = _paper(note, site)
        papers.append(paper)
        entries.append(
            paper_entry(
                paper,
                key=f"id:openreview:{paper.ids[0].value}",
                published_at=published,
                categories=keywords,
            )
        )
    return NotesPage(
        tuple(papers),
        tuple(entries),
        len(notes),
        count if isinstance(count, int) and not isinstance(count, bool) else None,
        tuple(skipped),
    )


def _note_problem(note: object) -> str | None:
    if not isinstance(note, dict):
        return f"a {type(note).__name__}, not an object"
    content = note.get("content")
    if not isinstance(content, dict):
        return "no 'content' object"
    forum = note.get("forum") or note.get("id")
    if not isinstance(forum, str) or not forum.strip():
        return "no forum id"
    if not _text(content, "title"):
        return f"{forum} has no content.title value"
    return None


def _paper(note: Mapping[str, Any], site: str) -> tuple[Paper, datetime | None, tuple[str, ...]]:
    content: Mapping[str, Any] = note["content"]
    forum = str(note.get("forum") or note["id"]).strip()
    authors_value = _value(content, "authors")
    authors = (
        tuple(" ".join(a.split()) for a in authors_value if isinstance(a, str) and a.strip())
        if isinstance(authors_value, list)
        else ()
    )
    keywords_value = _value(content, "keywords")
    keywords = (
        tuple(k.strip() for k in keywords_value if isinstance(k, str) and k.strip())[:20]
        if isinstance(keywords_value, list)
        else ()
    )
    published = _day(note.get("pdate")) or _day(note.get("cdate"))
    modified = _day(note.get("mdate")) or published
    pdf_value = _value(content, "pdf")
    venue = _text(content, "venue") or _text(content, "venueid")
    paper = Paper(
        arxiv_id=_arxiv_id(content),
        title=_text(content, "title") or "",
        authors=authors,
        categories=(),
        abstract=_text(content, "abstract") or "",
        first_version_at=published.date() if published else None,
        updated_at=modified.date() if modified else None,
        venue=venue,
        ids=(PaperId("openreview", forum),),
        url=f"{site.rstrip('/')}/forum?id={quote(forum, safe='')}",
        pdf=_absolute(pdf_value if isinstance(pdf_value, str) else None, site),
    )
    return paper, published, keywords


class OpenReviewConnector:
    """``openreview:<venue id>`` sources: a venue's accepted papers."""

    kind = "openreview"
    label = "OpenReview"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def parse_spec(self, text: str) -> SourceSpec | None:
        venue = parse_venue(text)
        if venue is None:
            return None
        return SourceSpec(
            self.kind,
            f"openreview:{venue}",
            title=venue_title(venue),
            home_url=f"{self._settings.openreview_url.rstrip('/')}/group?id={venue}",
            config={"venue": venue},
        )

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        policy = HostPolicy(max_connections=1, min_interval=1.0, max_retries=3, group="openreview")
        hosts = {"api2.openreview.net", urlsplit(settings.openreview_api_url).hostname or ""}
        return dict.fromkeys(hosts - {""}, policy)

    def notes_url(self, venue: str, offset: int, limit: int) -> str:
        base = self._settings.openreview_api_url.rstrip("/")
        return f"{base}/notes?content.venueid={quote(venue, safe='')}&offset={offset}&limit={limit}"

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        venue = str(source.config.get("venue") or "") or parse_venue(source.url)
        if not venue:
            raise InvalidInputError(f"{source.url}: not an OpenReview venue")
        limit = self._settings.openreview_page_size
        papers: list[Paper] = []
        entries: list[ParsedEntry] = []
        skipped: list[str] = []
        offset = 0
        while offset < MAX_NOTES:
            url = self.notes_url(venue, offset, limit)
            response = await ctx.fetcher.get(url, accept=JSON_ACCEPT)
            page = await ctx.run_cpu(
                parse_notes, response.content, url, self._settings.openreview_url
            )
            papers += page.papers
            entries += page.entries
            skipped += page.skipped
            offset += page.notes
            if page.notes < limit or (page.count is not None and offset >= page.count):
                break
        warning: str | None
        if not entries and not skipped:
            warning = (
                f"no accepted papers found for {venue}: not a venue id, not decided yet, or a "
                "venue of OpenReview's older API v1 (most before 2024), which is not read"
            )
        else:
            warning = _skipped_warning(skipped)
        return FetchResult(
            tuple(entries),
            papers=tuple(papers),
            max_age=REFRESH_SECONDS,
            warning=warning,
        )


def _skipped_warning(skipped: Sequence[str]) -> str | None:
    if not skipped:
        return None
    return f"{len(skipped)} notes could not be read ({'; '.join(skipped[:3])})"
