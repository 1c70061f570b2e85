"""Sources, updates, items, search and counts: the core of a user's view."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from mlradar._radar._base import RadarBase
from mlradar._radar._sync import run_sync
from mlradar._storage._query import RANK_LIMIT
from mlradar._update.schedule import utcnow
from mlradar.exceptions import (
    InvalidInputError,
    NotFoundError,
    RunnerBusyError,
    SourceExistsError,
    SourceNotFoundError,
)
from mlradar.types import Item, SearchHit, Source, Stats, UpdateSummary

if TYPE_CHECKING:
    from mlradar._connectors import SourceSpec
    from mlradar._update.pipeline import ProgressCallback

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
        """Subscribe to a source: a feed, a web page (its feed is found by autodiscovery),
        or anything a mounted connector accepts (``arxiv:cs.LG``, ``arxiv:<API query>``...).

        A source someone else follows already is shared, not fetched twice.  With
        ``discover=False`` the spec is stored as given, without any network lookup.
        """
        return run_sync(self.add_source_async(url, name=name, tags=tags, discover=discover))

    async def add_source_async(
        self,
        url: str,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        discover: bool = True,
    ) -> Source:
        from mlradar._connectors import InlineContext, SourceSpec

        connector, spec = self._core.registry.parse(url)
        self._check_not_mine(spec)
        shared = self._known_source(spec)
        if shared is not None:
            # Someone follows it already: subscribe to that source, no lookup needed.
            spec = SourceSpec(shared.kind, shared.url, title=shared.title, home_url=shared.home_url)
        elif discover:
            async with self._core.fetcher(connector.policies(self._settings)) as fetcher:
                spec = await connector.resolve(spec, InlineContext(fetcher, self._settings))
            self._check_not_mine(spec)
        return self._storage.add_source(
            self._user_id,
            spec.url,
            spec.kind,
            name=name,
            title=spec.title,
            home_url=spec.home_url,
            tags=tags,
            config=spec.config,
            canonical_url=spec.canonical_url,
        )

    def _known_source(self, spec: SourceSpec, user_id: int | None = None) -> Source | None:
        """The stored source ``spec`` names (among the user's, with ``user_id``)."""
        for spelling in dict.fromkeys(x for x in (spec.canonical_url, spec.url) if x):
            found = self._storage.find_source(spelling, user_id=user_id)
            if found is not None:
                return found
        return None

    def _check_not_mine(self, spec: SourceSpec) -> None:
        existing = self._known_source(spec, self._user_id)
        if existing is not None:
            raise SourceExistsError(spec.url, f"already subscribed as source {existing.id}")

    def sources(self, *, tag: str | None = None) -> list[Source]:
        """The sources this user follows (those with ``tag``)."""
        return self._storage.list_sources(user_id=self._user_id, tag=tag)

    def source(self, ref: int | str) -> Source:
        """One of the user's sources, by id, URL, name or title.  Names and titles match
        whatever their case, URLs without their scheme or ``www.``, and the site's home page
        names its feed; a ref that fits several sources is an error naming their ids."""
        try:
            return self._storage.get_source(ref, user_id=self._user_id)
        except SourceNotFoundError:
            matches = [s for s in self.sources() if source_matches(s, str(ref))]
            if len(matches) == 1:
                return matches[0]
            if matches:
                ids = ", ".join(str(s.id) for s in matches)
                raise InvalidInputError(
                    f"{str(ref)!r} fits {len(matches)} sources ({ids}): give an id"
                ) from None
            raise

    def overlapping_listings(self, source: Source) -> list[tuple[Source, tuple[str, ...]]]:
        """The user's other sources that list some of the arXiv categories ``source``
        lists (``arxiv:cs.LG`` against a profile's ``rss.arxiv.org/rss/cs.LG`` feed),
        with the categories they share: the same papers would arrive twice."""
        from mlradar._arxiv.listing import listing_categories

        mine = set(listing_categories(source.url))
        if not mine:
            return []
        out = []
        for other in self.sources():
            shared = mine & set(listing_categories(other.url))
            if other.id != source.id and shared:
                out.append((other, tuple(sorted(shared))))
        return out

    def remove_source(self, ref: int | str) -> Source:
        """Unsubscribe; a source nobody follows any more goes, with its items."""
        return self._storage.remove_source(self.source(ref).id, user_id=self._user_id)

    def tag_source(
        self, ref: int | str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Source:
        return self._storage.set_source_tags(
            self.source(ref).id, add=add, remove=remove, user_id=self._user_id
        )

    def rename_source(self, ref: int | str, name: str | None) -> Source:
        """Call the source ``name`` (None: by its own title again)."""
        return self._storage.set_source_name(ref, name, user_id=self._user_id)

    # -- updating --------------------------------------------------------------------------

    def update(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
        exclusive: bool = False,
    ) -> UpdateSummary:
        """Fetch the user's sources that are due (or the ones named, or all with ``force``).

        ``exclusive``: take the runners' lock first (the one ``mlradar worker`` and
        ``serve``'s background worker hold while they update), and raise RunnerBusyError
        when another runner holds it, so an "update now" never runs beside a scheduled one."""
        if not exclusive:
            return run_sync(self.update_async(sources, force=force, progress=progress))
        from mlradar._worker.runner import runner_lock

        with runner_lock(self._core) as mine:
            if not mine:
                raise RunnerBusyError(
                    "an update is running now (mlradar worker, or serve's background "
                    "worker): its results show when it ends"
                )
            return run_sync(self.update_async(sources, force=force, progress=progress))

    async def update_async(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> UpdateSummary:
        targets = self._targets(sources, force)
        return await self._core.run_update(targets, progress=progress)

    def due_sources(
        self, sources: Sequence[int | str] | None = None, *, force: bool = False
    ) -> list[Source]:
        """The sources ``update`` would fetch with the same arguments."""
        return self._targets(sources, force)

    def _targets(self, sources: Sequence[int | str] | None, force: bool) -> list[Source]:
        if sources:
            return self._core._named([self.source(s).id for s in sources], self._user_id)
        return self._storage.due_sources(utcnow(), force=force, user_id=self._user_id)

    # -- reading ---------------------------------------------------------------------------

    def items(
        self,
        *,
        limit: int = 20,
        source: int | str | None = None,
        since: datetime | None = None,
    ) -> list[Item]:
        """The newest items, newest first."""
        source_id = None if source is None else self.source(source).id
        return self._core.reads.list_items(
            limit=limit, source_id=source_id, since=since, user_id=self._user_id
        )

    def item(self, item_id: int) -> Item:
        found = self._storage.get_item(item_id, user_id=self._user_id)
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
        source_ids = None if not sources else [self.source(s).id for s in sources]
        rank_limit = None if exhaustive else RANK_LIMIT

        def fulltext() -> list[SearchHit]:
            return self._storage.search(
                query,
                limit=limit,
                source_ids=source_ids,
                since=since,
                rank_limit=rank_limit,
                user_id=self._user_id,
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
        """Counts of the user's sources, their items and the user's tags (papers: all)."""
        return self._core.reads.stats(self._user_id)


def _bare_url(url: str) -> str:
    text = url.strip().casefold()
    for prefix in ("https://", "http://", "www."):
        text = text.removeprefix(prefix)
    return text.rstrip("/")


def source_matches(source: Source, ref: str) -> bool:
    """Whether ``ref`` names ``source`` loosely: its name or title whatever the case, or
    its feed or home page URL without scheme, ``www.`` or a trailing slash."""
    text = ref.strip().casefold()
    if text and text in {(source.name or "").casefold(), (source.title or "").casefold()}:
        return True
    bare = _bare_url(ref)
    return bool(bare) and bare in {_bare_url(source.url), _bare_url(source.home_url or "")}
