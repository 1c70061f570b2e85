"""Hacker News as a source: the front-page lists, and standing searches.

* ``hn:top``, ``hn:best``, ``hn:new``, ``hn:show``, ``hn:ask`` (and the site's own pages,
  ``https://news.ycombinator.com/``, ``/best``, ``/newest``, ``/show``, ``/ask``) read the
  official Firebase API: ``/v0/<list>stories.json`` gives the story ids, then each
  ``/v0/item/<id>.json``, at most :data:`DEFAULT_MAX_ITEMS` of them, a few at a time.
  Every update reads the items again, so their points and comment counts stay current
  (storage writes counts that moved without counting the item as changed).
* ``hn:search:<query>`` (``hn:search:arxiv.org``, ``hn:search:"diffusion"``) reads the
  Algolia API (``/api/v1/search_by_date?query=...&tags=story``).  The state keeps the
  newest ``created_at_i`` seen; a fetch asks for stories from :data:`SEARCH_REFRESH_SECONDS`
  before it, so the newest stories' counts are refreshed as well.

An entry links the story's URL (a self post, Ask HN: the item page), carries that URL in
``links`` (a discussion joins the page it links), and its ``comments_url`` is the item
page.  Deleted and dead items are skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
)
from mlradar._fetch import HostPolicy
from mlradar._model import DiscussionSignal, ParsedEntry
from mlradar._sources.entry import api_entry
from mlradar.exceptions import FetchError, InvalidInputError, ParseError

FIREBASE_URL = "https://hacker-news.firebaseio.com"
ALGOLIA_URL = "https://hn.algolia.com"
ITEM_PAGE = "https://news.ycombinator.com/item?id="
#: The lists the API publishes, by the name a user gives them.
LISTS = {"top": "top", "best": "best", "new": "new", "show": "show", "ask": "ask"}
#: The site's pages and the list each shows.
_SITE_PAGES = {
    "": "top",
    "/news": "top",
    "/front": "top",
    "/best": "best",
    "/newest": "new",
    "/show": "show",
    "/shownew": "show",
    "/ask": "ask",
}
_SITE_HOSTS = frozenset({"news.ycombinator.com", "ycombinator.com", "www.ycombinator.com"})
#: Items read per fetch of a list (the lists hold up to 500 ids; the top ones matter).
DEFAULT_MAX_ITEMS = 100
#: Item requests in flight at once.
ITEM_CONCURRENCY = 8
#: Search hits asked for per fetch (Algolia's page size is at most 1000).
SEARCH_HITS = 100
#: Pages a search reads per fetch, at most, once it has a newest time to start from.
MAX_SEARCH_PAGES = 5
#: How far before the newest story seen a search looks again, to refresh recent counts.
SEARCH_REFRESH_SECONDS = 3 * 24 * 3600
JSON_ACCEPT = "application/json"


def _json(content: bytes, what: str, url: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise ParseError(url, f"{what} is not JSON") from None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(seconds: Any) -> datetime | None:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def item_entry(item: Mapping[str, Any]) -> ParsedEntry | None:
    """The entry of one Firebase item, or None for what is no story (deleted, dead, a
    comment, a job ad).  Raises ParseError when the item is not shaped like one."""
    ident = _int(item.get("id"))
    if ident is None:
        raise ParseError(ITEM_PAGE, "a Hacker News item without an integer 'id'")
    if item.get("deleted") or item.get("dead") or item.get("type") != "story":
        return None
    title = _text(item.get("title"))
    if title is None:
        return None
    page = f"{ITEM_PAGE}{ident}"
    score, comments = _int(item.get("score")), _int(item.get("descendants"))
    return api_entry(
        guid=f"hn:{ident}",
        link=_text(item.get("url")) or page,
        fallback_link=page,
        title=title,
        author=_text(item.get("by")),
        html=_text(item.get("text")),
        base_url=page,
        published_at=_when(item.get("time")),
        discussion=DiscussionSignal(score, comments if comments is not None else 0, page),
    )


def hit_entry(hit: Mapping[str, Any]) -> ParsedEntry | None:
    """The entry of one Algolia search hit (a story), or None when it has no title."""
    ident = hit.get("objectID")
    if not isinstance(ident, str) or not ident.isdigit():
        raise ParseError(ALGOLIA_URL, "a search hit without a numeric 'objectID'")
    title = _text(hit.get("title"))
    if title is None:
        return None
    page = f"{ITEM_PAGE}{ident}"
    return api_entry(
        guid=f"hn:{ident}",
        link=_text(hit.get("url")) or page,
        fallback_link=page,
        title=title,
        author=_text(hit.get("author")),
        html=_text(hit.get("story_text")),
        base_url=page,
        published_at=_when(hit.get("created_at_i")),
        discussion=DiscussionSignal(_int(hit.get("points")), _int(hit.get("num_comments")), page),
    )


def parse_search(content: bytes, url: str) -> tuple[list[ParsedEntry], int | None, bool]:
    """(entries, the newest ``created_at_i``, whether more pages follow) of one Algolia
    response."""
    body = _json(content, "the search response", url)
    hits = body.get("hits") if isinstance(body, dict) else None
    if not isinstance(hits, list):
        raise ParseError(url, "the search response has no 'hits' list")
    entries: list[ParsedEntry] = []
    newest: int | None = None
    for hit in hits:
        if not isinstance(hit, dict):
            raise ParseError(url, "a search hit is not an object")
        entry = hit_entry(hit)
        created = _int(hit.get("created_at_i"))
        if created is not None:
            newest = created if newest is None else max(newest, created)
        if entry is not None:
            entries.append(entry)
    page, pages = _int(body.get("page")), _int(body.get("nbPages"))
    return entries, newest, page is not None and pages is not None and page + 1 < pages


class HackerNewsConnector:
    """``hn:<list>``, the site's pages, and ``hn:search:<query>``."""

    kind = "hackernews"
    label = "Hacker News"
    #: How its input looks, for the message that lists what can be followed.
    example = "hn:top"

    def __init__(
        self,
        settings: Settings,
        *,
        api_url: str | None = None,
        search_url: str | None = None,
        max_items: int = DEFAULT_MAX_ITEMS,
        search_interval: float = 0.4,
        concurrency: int = ITEM_CONCURRENCY,
    ) -> None:
        self._settings = settings
        # The arguments win (tests), then the settings (their defaults: the public APIs).
        self._api = (api_url or settings.hackernews_api_url or FIREBASE_URL).rstrip("/")
        self._search = (search_url or settings.hackernews_search_url or ALGOLIA_URL).rstrip("/")
        self._max_items = max_items
        self._concurrency = max(1, concurrency)
        # Algolia allows 10,000 requests an hour per IP: 0.36 s apart, rounded up.
        self._search_interval = search_interval

    def parse_spec(self, text: str) -> SourceSpec | None:
        raw = text.strip()
        lowered = raw.lower()
        if lowered.startswith("hn:search:"):
            query = raw[len("hn:search:") :].strip()
            if not query:
                raise InvalidInputError("hn:search: needs a query, e.g. hn:search:arxiv.org")
            return SourceSpec(
                self.kind,
                f"hn:search:{query}",
                title=f"Hacker News: {query}",
                home_url=f"https://hn.algolia.com/?query={quote(query)}&type=story",
                config={"mode": "search", "query": query},
            )
        if lowered.startswith("hn:"):
            name = lowered[3:].strip()
            if name not in LISTS:
                raise InvalidInputError(
                    f"{raw!r}: Hacker News lists are "
                    + ", ".join(f"hn:{n}" for n in LISTS)
                    + ', or hn:search:"query"'
                )
            return self._list_spec(name)
        if lowered.startswith(("http://", "https://")) or lowered.startswith("news.ycombinator"):
            parts = urlsplit(raw if "://" in raw else "https://" + raw)
            if (parts.hostname or "").lower() not in _SITE_HOSTS:
                return None
            page = _SITE_PAGES.get(parts.path.rstrip("/").lower())
            return None if page is None else self._list_spec(page)
        return None

    def _list_spec(self, name: str) -> SourceSpec:
        path = {"top": "news", "new": "newest"}.get(name, name)
        return SourceSpec(
            self.kind,
            f"hn:{name}",
            title=f"Hacker News: {name}",
            home_url=f"https://news.ycombinator.com/{path}",
            config={"mode": "list", "list": name},
        )

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        out: dict[str, HostPolicy] = {}
        api_host = urlsplit(self._api).hostname
        search_host = urlsplit(self._search).hostname
        if api_host:
            out[api_host] = HostPolicy(max_connections=self._concurrency, max_retries=2)
        if search_host and search_host not in out:  # one host for both (tests): the API's
            out[search_host] = HostPolicy(
                max_connections=1, min_interval=self._search_interval, max_retries=2
            )
        return out

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        config = source.config or {}
        spec = None if config.get("mode") else self.parse_spec(source.url)
        if spec is not None:  # stored without config (added by hand): derive it
            config = spec.config
        if config.get("mode") == "search":
            return await self._fetch_search(str(config.get("query") or ""), source, ctx)
        name = str(config.get("list") or "")
        if name not in LISTS:
            raise InvalidInputError(f"{source.url}: not a Hacker News list")
        return await self._fetch_list(name, config, ctx)

    async def _fetch_list(
        self, name: str, config: Mapping[str, Any], ctx: FetchContext
    ) -> FetchResult:
        url = f"{self._api}/v0/{LISTS[name]}stories.json"
        response = await ctx.fetcher.get(url, accept=JSON_ACCEPT)
        ids = _json(response.content, "the story list", url)
        if not isinstance(ids, list) or not all(_int(i) is not None for i in ids):
            raise ParseError(url, "the story list is not a list of item ids")
        limit = int(config.get("max_items") or self._max_items)
        wanted: Sequence[int] = list(dict.fromkeys(ids))[:limit]
        gate = asyncio.Semaphore(self._concurrency)

        async def one(ident: int) -> Any:
            async with gate:
                item_url = f"{self._api}/v0/item/{ident}.json"
                try:
                    got = await ctx.fetcher.get(item_url, accept=JSON_ACCEPT)
                    return _json(got.content, f"item {ident}", item_url)
                except (FetchError, ParseError) as exc:
                    # Returned, not raised: the other requests finish instead of running on.
                    return exc

        results = await asyncio.gather(*(one(i) for i in wanted))
        entries: list[ParsedEntry] = []
        failed: list[FetchError] = []
        for ident, item in zip(wanted, results, strict=True):
            if isinstance(item, ParseError):
                raise item
            if isinstance(item, FetchError):
                failed.append(item)
                continue
            if item is None:  # the API answers null for an id it does not have
                continue
            if not isinstance(item, dict):
                raise ParseError(url, f"item {ident} is not an object")
            entry = item_entry(item)
            if entry is not None:
                entries.append(entry)
        if failed and len(failed) == len(wanted):
            raise failed[0]
        warning = None
        if failed:
            reason = failed[0].message
            warning = f"{len(failed)} of {len(wanted)} items could not be read ({reason})"
        return FetchResult(
            tuple(entries),
            status=response.status,
            title=f"Hacker News: {name}",
            warning=warning,
        )

    async def _fetch_search(self, query: str, source: SourceRef, ctx: FetchContext) -> FetchResult:
        if not query:
            raise InvalidInputError(f"{source.url}: a Hacker News search without a query")
        newest = _int(source.state.get("newest_created_at"))
        url = (
            f"{self._search}/api/v1/search_by_date?query={quote(query)}"
            f"&tags=story&hitsPerPage={SEARCH_HITS}"
        )
        if newest is not None:
            since = max(0, newest - SEARCH_REFRESH_SECONDS)
            url += f"&numericFilters={quote(f'created_at_i>{since}')}"
        response = await ctx.fetcher.get(url, accept=JSON_ACCEPT)
        entries, seen, more = parse_search(response.content, url)
        # Since the last fetch: every page of the window (a busy query outruns one page).
        # The first fetch takes the newest page only: a backlog, not the whole history.
        page = 1
        while more and newest is not None and page < MAX_SEARCH_PAGES:
            got = await ctx.fetcher.get(f"{url}&page={page}", accept=JSON_ACCEPT)
            extra, later, more = parse_search(got.content, got.url)
            entries += extra
            seen = later if seen is None else max(seen, later or seen)
            page += 1
        if newest is not None and seen is not None:
            seen = max(seen, newest)
        state = {"newest_created_at": seen if seen is not None else newest}
        return FetchResult(tuple(entries), state=state, status=response.status)
