"""The update run: fetch every due source, parse in worker processes, store each feed atomically.

The shape is a pipeline with three stages that overlap:

* fetching is asyncio I/O in this process, bounded by the Fetcher's global and
  per-host limits;
* parsing (feedparser + nh3) is CPU-bound pure Python, so it runs in a process pool
  sized to the cores — this is where the time of a cold update goes;
* storing is one short transaction per source in this process.

A failure is confined to its source: it is recorded on the source (status, message,
error count, backoff) and the run goes on.  Each source commits on its own, so an
interrupted run keeps what it finished and a re-run picks up the rest without duplicates.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from mlradar._config import Settings
from mlradar._fetch import Fetcher, HostPolicy
from mlradar._model import FetchState, ParsedFeed, SourceFetch, StoreCounts
from mlradar._papers import store_papers
from mlradar._sources.feed import parse_feed
from mlradar._storage import Storage
from mlradar._storage._base import utcnow
from mlradar._update.schedule import next_due_at
from mlradar.exceptions import RadarError, SourceError
from mlradar.types import Source, SourceUpdate

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)

#: Below this many sources, worker start-up costs more than parallel parsing saves.
POOL_THRESHOLD = 8

ProgressCallback = Callable[[SourceUpdate], None]


class Connector(Protocol):
    """A source kind other than a plain feed (arXiv listings, Hacker News, Reddit...)."""

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]: ...

    async def fetch(
        self, source: Source, config: Mapping[str, Any], fetcher: Fetcher
    ) -> SourceFetch: ...


def _message(exc: BaseException) -> str:
    """One line for the source's last_error: no URL (the row names it), no traceback."""
    if isinstance(exc, SourceError):
        text = exc.message or exc.__class__.__name__
    elif isinstance(exc, RadarError):
        text = str(exc)
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return " ".join(text.split())[:500]


class Updater:
    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        connectors: Mapping[str, Connector],
        *,
        progress: ProgressCallback | None = None,
        transport: Any = None,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._connectors = connectors
        self._progress = progress
        self._transport = transport
        self._executor: Executor | None = None
        self._stopping = False

    def _schedule(self, now: datetime, errors: int, fetch: SourceFetch | None) -> datetime:
        return next_due_at(
            now,
            interval=timedelta(minutes=self._settings.update_interval_minutes),
            consecutive_errors=errors,
            retry_after=fetch.retry_after if fetch else None,
            max_age=fetch.max_age if fetch else None,
            max_backoff=timedelta(hours=self._settings.max_backoff_hours),
        )

    async def _parse(self, content: bytes, url: str, content_type: str | None) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        if self._executor is None:
            return parse_feed(content, url, content_type=content_type)
        return await loop.run_in_executor(self._executor, _parse_job, content, url, content_type)

    async def _fetch_feed(self, source: Source, fetcher: Fetcher) -> SourceFetch:
        resp = await fetcher.get(
            source.url,
            etag=source.state.etag,
            last_modified=source.state.last_modified,
            accept=FEED_ACCEPT,
        )
        feed = None
        if not resp.not_modified:
            feed = await self._parse(resp.content, resp.url, resp.content_type)
        return SourceFetch(
            feed=feed,
            status=resp.status,
            etag=resp.etag,
            last_modified=resp.last_modified,
            retry_after=resp.retry_after,
            max_age=resp.max_age,
        )

    async def _update_one(self, source: Source, fetcher: Fetcher) -> SourceUpdate:
        started = utcnow()
        base = SourceUpdate(source.id, source.url, source.display_name)
        try:
            if source.kind == "feed":
                fetched = await self._fetch_feed(source, fetcher)
            else:
                connector = self._connectors.get(source.kind)
                if connector is None:
                    raise RadarError(f"no connector for sources of kind {source.kind!r}")
                config = self._storage.source_config(source.id)
                fetched = await connector.fetch(source, config, fetcher)
        except (RadarError, OSError, ValueError, UnicodeError) as exc:
            if self._stopping:
                # The run is being interrupted: a request cut short is not the source's fault,
                # and recording it would push the source into backoff instead of the re-run.
                raise asyncio.CancelledError from exc
            # OSError/ValueError: a parser or connector bug must cost one source, not the run.
            status = getattr(exc, "status", None)
            retry_after = getattr(exc, "retry_after", None)
            errors = source.state.consecutive_errors + 1
            due = self._schedule(started, errors, SourceFetch(None, retry_after=retry_after))
            message = _message(exc)
            self._storage.record_fetch(source.id, FetchState(started, status, message, due))
            return replace(base, error=message)

        state = FetchState(
            fetched_at=started,
            status=fetched.status,
            error=None,
            next_due_at=self._schedule(started, 0, fetched),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            title=fetched.feed.title if fetched.feed else None,
            home_url=fetched.feed.home_url if fetched.feed else None,
        )
        if fetched.papers:
            store_papers(self._storage, fetched.papers)
        if fetched.feed is None:
            self._storage.record_fetch(source.id, state)
            return replace(base, not_modified=True)
        counts: StoreCounts = self._storage.store_entries(source.id, fetched.feed.entries, state)
        return replace(base, new=counts.new, updated=counts.updated, unchanged=counts.unchanged)

    async def run(self, sources: Sequence[Source]) -> list[SourceUpdate]:
        policies: dict[str, HostPolicy] = {}
        kinds = {s.kind for s in sources}
        for kind, connector in self._connectors.items():
            if kind in kinds:
                policies.update(connector.policies(self._settings))
        feeds = sum(1 for s in sources if s.kind == "feed")
        workers = max(1, self._settings.parse_workers)
        if feeds >= POOL_THRESHOLD and workers > 1:
            # spawn, not fork: forking a process that runs an event loop and threads can deadlock.
            self._executor = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")
            )
        results: list[SourceUpdate] = []
        try:
            async with Fetcher(self._settings, policies=policies, transport=self._transport) as f:
                tasks = [asyncio.create_task(self._update_one(s, f)) for s in sources]
                try:
                    for done in asyncio.as_completed(tasks):
                        result = await done
                        results.append(result)
                        if self._progress is not None:
                            self._progress(result)
                except BaseException:
                    # Ctrl-C (asyncio cancels this task) or a bug: stop every source before the
                    # client closes under them, and record none of them as failed.
                    self._stopping = True
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
        order = {s.id: i for i, s in enumerate(sources)}
        results.sort(key=lambda r: order[r.source_id])
        return results


def _parse_job(content: bytes, url: str, content_type: str | None) -> ParsedFeed:
    return parse_feed(content, url, content_type=content_type)
