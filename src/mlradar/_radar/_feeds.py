"""Sources, updates, items, search and counts: the core of the facade."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from mlradar._fetch import Fetcher
from mlradar._identity.urls import canonicalize_url
from mlradar._radar._base import RadarBase
from mlradar._sources.discovery import discover_feeds, looks_like_feed
from mlradar._sources.feed import parse_feed
from mlradar._storage._base import utcnow
from mlradar._storage._items import RANK_LIMIT
from mlradar._update.connectors import default_connectors
from mlradar._update.pipeline import FEED_ACCEPT, ProgressCallback, Updater
from mlradar.exceptions import (
    InvalidInputError,
    NotFoundError,
    ParseError,
    SourceExistsError,
    SourceNotFoundError,
)
from mlradar.types import Item, SearchHit, Source, Stats, UpdateSummary

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _search_pool() -> ThreadPoolExecutor:
    """Worker threads for the full-text half of searches, shared by every Radar."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlradar-search")
        return _POOL


class FeedsMixin(RadarBase):
    # -- sources ---------------------------------------------------------------------------

    def add_source(
        self,
        url: str,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        discover: bool = True,
    ) -> Source:
        """Subscribe to a feed, a web page (its feed is found by autodiscovery) or a connector.

        ``arxiv:cs.LG`` (categories, comma-separated) or ``arxiv:<API query>`` follows arXiv.
        With ``discover=False`` the URL is stored as given, without fetching it.
        """
        url = url.strip()
        if url.startswith("arxiv:"):
            from mlradar._arxiv.listing import parse_arxiv_source

            source_url, config = parse_arxiv_source(url)
            return self._storage.add_source(
                source_url, "arxiv", name=name, tags=tags, config=config
            )
        if not url.lower().startswith(("http://", "https://")):
            if "://" in url:
                raise InvalidInputError(f"{url}: only http and https feeds can be followed")
            url = "https://" + url
        feed_url, title, home_url = (
            asyncio.run(self._resolve_feed(url)) if discover else (url, None, None)
        )
        canonical = canonicalize_url(feed_url)
        existing = self._storage.find_source(canonical)
        if existing is not None:
            raise SourceExistsError(feed_url, f"already subscribed as source {existing.id}")
        return self._storage.add_source(
            feed_url,
            "feed",
            name=name,
            title=title,
            home_url=home_url,
            tags=tags,
            canonical_url=canonical,
        )

    async def _resolve_feed(self, url: str) -> tuple[str, str | None, str | None]:
        """The feed URL behind ``url``, with the feed's title and home page."""
        async with Fetcher(self._settings) as fetcher:
            resp = await fetcher.get(url, accept=FEED_ACCEPT + ", text/html;q=0.7")
            if not looks_like_feed(resp.content, resp.content_type):
                candidates = discover_feeds(resp.content, resp.url)
                if not candidates:
                    raise ParseError(url, "no feed found: the page links no RSS, Atom or JSON feed")
                url, home = candidates[0], resp.url
                resp = await fetcher.get(url, accept=FEED_ACCEPT)
            else:
                home = None
            # Keep a permanent redirect's target; a temporary one may change back.
            feed_url = resp.permanent_redirect or url
            feed = parse_feed(resp.content, resp.url, content_type=resp.content_type)
        return feed_url, feed.title, feed.home_url or home

    def sources(self, *, tag: str | None = None) -> list[Source]:
        return self._storage.list_sources(tag=tag)

    def source(self, ref: int | str) -> Source:
        return self._storage.get_source(ref)

    def remove_source(self, ref: int | str) -> Source:
        """Unsubscribe; the source's items go with it."""
        return self._storage.remove_source(ref)

    def tag_source(
        self, ref: int | str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Source:
        return self._storage.set_source_tags(ref, add=add, remove=remove)

    # -- updating --------------------------------------------------------------------------

    def update(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
        transport: Any = None,
    ) -> UpdateSummary:
        """Fetch the sources that are due (or the ones named, or all with ``force``)."""
        return asyncio.run(
            self.update_async(sources, force=force, progress=progress, transport=transport)
        )

    async def update_async(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
        transport: Any = None,
    ) -> UpdateSummary:
        targets = self._targets(sources, force)
        updater = Updater(
            self._storage,
            self._settings,
            default_connectors(self._settings),
            progress=progress,
            transport=transport,
        )
        return UpdateSummary(tuple(await updater.run(targets)))

    def due_sources(
        self, sources: Sequence[int | str] | None = None, *, force: bool = False
    ) -> list[Source]:
        """The sources ``update`` would fetch with the same arguments."""
        return self._targets(sources, force)

    def _targets(self, sources: Sequence[int | str] | None, force: bool) -> list[Source]:
        if sources:
            # One query for all of them: the CLI passes every due source's id back in.
            found = self._storage.list_sources(refs=sources)
            known = {x.id for x in found} | {x.url for x in found} | {x.name for x in found}
            for ref in sources:
                if ref not in known and not (
                    isinstance(ref, str) and ref.isdigit() and int(ref) in known
                ):
                    raise SourceNotFoundError(str(ref), "no such source")
            return found
        return self._storage.due_sources(utcnow(), force=force)

    # -- reading ---------------------------------------------------------------------------

    def items(
        self,
        *,
        limit: int = 20,
        source: int | str | None = None,
        since: datetime | None = None,
    ) -> list[Item]:
        """The newest items, newest first."""
        source_id = None if source is None else self._storage.get_source(source).id
        return self._storage.list_items(limit=limit, source_id=source_id, since=since)

    def item(self, item_id: int) -> Item:
        found = self._storage.get_item(item_id)
        if found is None:
            raise NotFoundError(f"no item {item_id}")
        return found

    #: Run the full-text half in a worker thread while this one runs the semantic half
    #: (both wait mostly in C code that releases the GIL: SQLite, torch, numpy).
    _concurrent_search = True

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        sources: Sequence[int | str] | None = None,
        since: datetime | None = None,
        exhaustive: bool = False,
    ) -> list[SearchHit]:
        """Full-text search over items and papers: words, "phrases", OR, -exclusions, prefix*.

        Title matches weigh more than author matches, which weigh more than body text.
        With ``sources``, only those sources' items are searched (papers have no source).
        Without filters, papers near the query's meaning (embeddings, when computed) are
        fused in by reciprocal rank.

        A query matching more than 20,000 papers (or items) ranks the 20,000 most
        recently stored of them, which keeps a very common word fast on a large corpus;
        ``exhaustive=True`` ranks every match.
        """
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        source_ids = None if not sources else [self._storage.get_source(s).id for s in sources]
        rank_limit = None if exhaustive else RANK_LIMIT

        def fulltext() -> list[SearchHit]:
            return self._storage.search(
                query, limit=limit, source_ids=source_ids, since=since, rank_limit=rank_limit
            )

        if source_ids is not None or since is not None:
            return fulltext()  # the semantic half knows neither sources nor dates
        if not self._concurrent_search:
            return self.hybrid_search(fulltext(), query, limit=limit)
        pending = _search_pool().submit(fulltext)
        try:
            semantic = self.semantic_search(query, limit=max(limit, 20))
        except BaseException:
            pending.result()  # a query the full-text half rejects is reported as it says
            raise
        # Fused with the semantic half where paper embeddings exist; lexical alone otherwise.
        return self.hybrid_search(pending.result(), query, limit=limit, semantic=semantic)

    def stats(self) -> Stats:
        return self._storage.stats()
