"""arXiv's export API (``export.arxiv.org/api/query``): query URLs, the Atom parser, a client.

The client never spaces requests itself: the :class:`~mlradar._fetch.Fetcher` it is given
must carry :func:`~mlradar._fetch.arxiv_policies` (one connection, 3 s apart, Retry-After
honoured).  What the client does add is arXiv-specific: the API sometimes answers a page
with no entries although the feed's own ``totalResults`` says there are more; such a page
is asked for again, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from lxml import etree

from mlradar._arxiv.records import (
    clean_categories,
    clean_optional,
    clean_text,
    decode_name,
    identify,
    parse_iso_datetime,
    versions_upto,
)
from mlradar._content.xml import parse_xml, text_of
from mlradar._fetch import Fetcher
from mlradar.exceptions import FetchError, InvalidInputError, ParseError
from mlradar.types import Paper

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

ATOM_ACCEPT = "application/atom+xml, application/xml;q=0.9, */*;q=0.5"
#: The API's own ceiling per request.
MAX_PAGE = 2000
#: How many times a spuriously empty page is asked for again.
EMPTY_PAGE_RETRIES = 3

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]


@dataclass(frozen=True, slots=True)
class ApiPage:
    """One page of API results."""

    total: int
    start: int
    papers: tuple[Paper, ...]
    problems: tuple[str, ...] = ()

    @property
    def spuriously_empty(self) -> bool:
        """No entries, although the feed says results exist at this offset."""
        return not self.papers and not self.problems and self.start < self.total


def query_url(
    base: str,
    *,
    search_query: str = "",
    id_list: Sequence[str] = (),
    start: int = 0,
    max_results: int = 100,
    sort_by: SortBy = "relevance",
    sort_order: SortOrder = "descending",
) -> str:
    """The API URL for a query, parameters in the order arXiv's own examples use."""
    if not 0 < max_results <= MAX_PAGE:
        raise InvalidInputError(f"max_results must be between 1 and {MAX_PAGE}")
    if start < 0:
        raise InvalidInputError("start must be >= 0")
    params = {
        "search_query": search_query,
        "id_list": ",".join(id_list),
        "sortBy": sort_by,
        "sortOrder": sort_order,
        "start": str(start),
        "max_results": str(max_results),
    }
    return f"{base}?{urlencode(params)}"


def _int(element: etree._Element | None, default: int) -> int:
    text = text_of(element)
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def paper_from_entry(entry: etree._Element) -> Paper:
    """One Atom ``<entry>`` of the API as a Paper; InvalidInputError if it has no id."""
    arxiv_id, version, title = identify(
        text_of(entry.find(f"{ATOM}id")), text_of(entry.find(f"{ATOM}title"))
    )
    published = parse_iso_datetime(text_of(entry.find(f"{ATOM}published")))
    updated = parse_iso_datetime(text_of(entry.find(f"{ATOM}updated")))
    last = version or 1
    # The API dates the first version (published) and the latest one (updated) only.
    dates = {1: published, last: updated if last > 1 else published}
    primary = entry.find(f"{ARXIV}primary_category")
    categories = clean_categories(
        (c.get("term") or "" for c in entry.iterfind(f"{ATOM}category")),
        primary=primary.get("term") if primary is not None else None,
    )
    names = (text_of(a.find(f"{ATOM}name")) or "" for a in entry.iterfind(f"{ATOM}author"))
    authors = tuple(n for n in map(decode_name, names) if n)
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=authors,
        categories=categories,
        abstract=clean_text(text_of(entry.find(f"{ATOM}summary"))),
        first_version_at=published.date() if published else None,
        updated_at=latest.date() if (latest := updated or published) else None,
        versions=versions_upto(last, dates),
        comments=clean_optional(text_of(entry.find(f"{ARXIV}comment"))),
        journal_ref=clean_optional(text_of(entry.find(f"{ARXIV}journal_ref"))),
        doi=clean_optional(text_of(entry.find(f"{ARXIV}doi"))),
    )


def _api_error(entry: etree._Element) -> str | None:
    """The message of an API error entry (``<id>.../api/errors#...``), else None."""
    ident = text_of(entry.find(f"{ATOM}id")) or ""
    if "/api/errors" not in ident:
        return None
    return clean_text(text_of(entry.find(f"{ATOM}summary"))) or "unknown error"


def parse_api_feed(content: bytes, url: str) -> ApiPage:
    """Parse an API response.  An error the API reports (bad id, bad query) raises
    InvalidInputError with arXiv's message; an entry that cannot be read is a problem
    of the page, not a failure of it."""
    root = parse_xml(content, url)
    if root.tag != f"{ATOM}feed":
        raise ParseError(url, "not an Atom feed (is this the arXiv API?)")
    papers: list[Paper] = []
    problems: list[str] = []
    for entry in root.iterfind(f"{ATOM}entry"):
        error = _api_error(entry)
        if error is not None:
            raise InvalidInputError(f"the arXiv API refused the query: {error}")
        try:
            papers.append(paper_from_entry(entry))
        except InvalidInputError as exc:
            problems.append(str(exc))
    return ApiPage(
        total=_int(root.find(f"{OPENSEARCH}totalResults"), len(papers)),
        start=_int(root.find(f"{OPENSEARCH}startIndex"), 0),
        papers=tuple(papers),
        problems=tuple(problems),
    )


class ArxivApi:
    """The export API through a polite fetcher."""

    def __init__(
        self, fetcher: Fetcher, base_url: str, *, empty_page_retries: int = EMPTY_PAGE_RETRIES
    ) -> None:
        self._fetcher = fetcher
        self._base = base_url
        self._empty_retries = max(0, empty_page_retries)

    async def page(
        self,
        *,
        search_query: str = "",
        id_list: Sequence[str] = (),
        start: int = 0,
        max_results: int = 100,
        sort_by: SortBy = "relevance",
        sort_order: SortOrder = "descending",
    ) -> ApiPage:
        """One page; a spuriously empty one is fetched again (bounded), then an error."""
        url = query_url(
            self._base,
            search_query=search_query,
            id_list=id_list,
            start=start,
            max_results=max_results,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        for _ in range(self._empty_retries + 1):
            # 400 carries an Atom error entry that says what was wrong: parse it.
            response = await self._fetcher.get(url, accept=ATOM_ACCEPT, ok_statuses=(400,))
            page = parse_api_feed(response.content, response.url)
            if response.status == 400:
                raise InvalidInputError(f"the arXiv API refused the query ({url})")
            if not page.spuriously_empty:
                return page
        raise FetchError(
            url,
            f"arXiv returned an empty page {self._empty_retries + 1} times although it "
            f"reports {page.total} results; try again later",
        )

    async def search(
        self,
        search_query: str,
        *,
        max_results: int = 100,
        page_size: int = 100,
        sort_by: SortBy = "submittedDate",
        sort_order: SortOrder = "descending",
    ) -> list[Paper]:
        """Up to ``max_results`` papers of a query, newest first by default."""
        papers: list[Paper] = []
        start = 0
        while len(papers) < max_results:
            size = min(page_size, max_results - len(papers), MAX_PAGE)
            page = await self.page(
                search_query=search_query,
                start=start,
                max_results=size,
                sort_by=sort_by,
                sort_order=sort_order,
            )
            papers.extend(page.papers)
            start += size
            if not page.papers or start >= page.total:
                break
        return papers[:max_results]

    async def by_ids(self, ids: Sequence[str]) -> list[Paper]:
        """The papers with these ids (unknown ids are left out)."""
        out: list[Paper] = []
        for i in range(0, len(ids), 100):
            chunk = list(ids[i : i + 100])
            page = await self.page(id_list=chunk, max_results=100)
            out.extend(page.papers)
        return out


__all__ = [
    "ApiPage",
    "ArxivApi",
    "paper_from_entry",
    "parse_api_feed",
    "query_url",
]
