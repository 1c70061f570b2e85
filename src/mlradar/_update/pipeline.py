"""The update run: fetch every due source through its connector, store each atomically.

The shape is a pipeline with three stages that overlap:

* fetching is asyncio I/O in this process, bounded by the Fetcher's global and
  per-host limits;
* CPU-bound work a connector hands to :meth:`FetchContext.run_cpu` (parsing feeds:
  feedparser and nh3 are pure Python) runs in a process pool sized to the cores;
* storing is one short transaction per source in this process; sources that bring
  nothing new to store (a 304, an unchanged body) have their fetch recorded in batches
  of :data:`FETCH_BATCH`, since a warm pass is mostly them.

A failure is confined to its source: whatever a connector raises — a SourceError it meant,
or any other exception, which is a bug in it — is recorded on that source (status,
message, error count, backoff) and the run goes on.  Each source commits on its own, so
an interrupted run keeps what it finished and a re-run picks up the rest without
duplicates.  (A batch of fetch records lost to a kill costs nothing either: those
sources are due again, and their next fetch is another conditional request.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from mlradar._config import Settings
from mlradar._connectors import FetchResult, Registry, SourceRef
from mlradar._fetch import Fetcher, HostPolicy, last_response_status, reset_response_status
from mlradar._model import FetchState, PaperRow, ParsedEntry, StoreCounts
from mlradar._papers import store_papers
from mlradar._update.schedule import MAX_RETRY_AFTER, next_due_at, utcnow
from mlradar._update.workers import ParsePool
from mlradar.exceptions import DeferredError, FetchError, RadarError, SourceError, StorageError
from mlradar.types import Source, SourceUpdate

T = TypeVar("T")

#: Below this many sources, worker start-up costs more than parallel parsing saves.
POOL_THRESHOLD = 8
#: Fetch records of unchanged sources written to one transaction: one commit each was
#: about a fifth of a 1,000-feed warm pass.
FETCH_BATCH = 64

ProgressCallback = Callable[[SourceUpdate], None]
#: Makes the run's HTTP client, given the host policies of the connectors in use.
FetcherFactory = Callable[[Mapping[str, HostPolicy]], Fetcher]


class UpdateStore(Protocol):
    """What an update needs of storage."""

    def source_settings(
        self, source_ids: Sequence[int]
    ) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]: ...

    def record_fetch(self, source_id: int, fetch: FetchState) -> None: ...

    def record_fetches(self, fetches: Sequence[tuple[int, FetchState]]) -> None: ...

    def store_entries(
        self, source_id: int, entries: Sequence[ParsedEntry], fetch: FetchState
    ) -> StoreCounts: ...

    def upsert_paper_rows(
        self, rows: Iterable[PaperRow], *, decide: Any, state: Any = None
    ) -> StoreCounts: ...


def one_line(exc: BaseException) -> str:
    """One line for the source's last_error: no URL (the row names it), no traceback."""
    if isinstance(exc, SourceError):
        text = exc.message or exc.__class__.__name__
    elif isinstance(exc, RadarError):
        text = str(exc)
    else:
        # Not an error the connector meant: say what it was, so it can be reported.
        text = f"unexpected {exc.__class__.__name__}: {exc}"
    return " ".join(text.split())[:500]


@dataclass(frozen=True, slots=True)
class _Context:
    """The :class:`~mlradar._connectors.FetchContext` of one source's fetch."""

    fetcher: Fetcher
    settings: Settings
    now: datetime
    run: _Run

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.run.run_cpu(fn, *args)


class _Run:
    """The parse pool of one run (see :mod:`.workers`), used when the run is large enough."""

    def __init__(self, settings: Settings, sources: int) -> None:
        workers = max(1, settings.parse_workers)
        self.pool = ParsePool(workers if sources >= POOL_THRESHOLD and workers > 1 else 0)

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.pool.run(fn, *args)

    def close(self) -> None:
        self.pool.close()


class Updater:
    def __init__(
        self,
        storage: UpdateStore,
        settings: Settings,
        registry: Registry,
        fetcher_factory: FetcherFactory,
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._registry = registry
        self._fetcher_factory = fetcher_factory
        self._progress = progress
        self._stopping = False
        self._unchanged: list[tuple[Source, FetchState]] = []

    def _record_unchanged(self, source: Source, fetch: FetchState) -> None:
        self._unchanged.append((source, fetch))
        if len(self._unchanged) >= FETCH_BATCH:
            self._flush_unchanged()

    def _flush_unchanged(self) -> None:
        batch, self._unchanged = self._unchanged, []
        try:
            self._storage.record_fetches([(source.id, fetch) for source, fetch in batch])
        except StorageError:
            # One record the database refuses must not cost the others theirs: one by one,
            # and the refused one is that source's error, as an unbatched write would be.
            for source, fetch in batch:
                try:
                    self._storage.record_fetch(source.id, fetch)
                except StorageError as exc:
                    self._refused(source, fetch.fetched_at, fetch.status, exc)

    def _refused(
        self, source: Source, started: datetime, status: int | None, exc: StorageError
    ) -> str:
        """Record that the database refused what ``source`` brought (its transaction rolled
        back); should recording fail too, the database itself is the problem, and the run
        stops."""
        message = one_line(SourceError(source.url, f"could not be stored: {exc}"))
        errors = source.state.consecutive_errors + 1
        due = self._schedule(started, errors, None, None)
        self._storage.record_fetch(source.id, FetchState(started, status, message, due))
        return message

    def _schedule(
        self, now: datetime, errors: int, retry_after: float | None, max_age: float | None
    ) -> datetime:
        return next_due_at(
            now,
            interval=timedelta(minutes=self._settings.update_interval_minutes),
            consecutive_errors=errors,
            retry_after=retry_after,
            max_age=max_age,
            max_backoff=timedelta(hours=self._settings.max_backoff_hours),
        )

    async def _fetch(self, source: Source, ref: SourceRef, ctx: _Context) -> FetchResult:
        """The connector's fetch, with anything it raises made this source's error."""
        connector = self._registry.get(source.kind)
        try:
            return await connector.fetch(ref, ctx)
        except SourceError:
            raise
        except RadarError as exc:
            raise SourceError(source.url, one_line(exc)) from exc
        except Exception as exc:  # a bug in one connector must cost one source, not the run
            raise SourceError(source.url, one_line(exc)) from exc

    async def _update_one(
        self,
        source: Source,
        settings: tuple[dict[str, Any], dict[str, Any]],
        fetcher: Fetcher,
        run: _Run,
    ) -> SourceUpdate:
        started = utcnow()
        base = SourceUpdate(source.id, source.url, source.display_name)
        config, state = settings
        ref = SourceRef(source.id, source.kind, source.url, source.title, config, state)
        reset_response_status()
        try:
            fetched = await self._fetch(
                source, ref, _Context(fetcher, self._settings, started, run)
            )
        except DeferredError as exc:
            return self._defer(source, base, started, exc)
        except SourceError as exc:
            if self._stopping:
                # The run is being interrupted: a request cut short is not the source's fault,
                # and recording it would push the source into backoff instead of the re-run.
                raise asyncio.CancelledError from exc
            # A body that failed to parse still came with a status: keep what the server said.
            status = exc.status if isinstance(exc, FetchError) else last_response_status()
            retry_after = getattr(exc, "retry_after", None)
            errors = source.state.consecutive_errors + 1
            due = self._schedule(started, errors, retry_after, None)
            message = one_line(exc)
            self._storage.record_fetch(source.id, FetchState(started, status, message, due))
            return replace(base, error=message)

        fetch = FetchState(
            fetched_at=started,
            status=fetched.status,
            error=None,
            next_due_at=self._schedule(started, 0, fetched.retry_after, fetched.max_age),
            state=None if fetched.state is None else json.dumps(dict(fetched.state)),
            title=fetched.title,
            home_url=fetched.home_url,
            warning=fetched.warning,
        )
        try:
            if fetched.papers:
                store_papers(self._storage, fetched.papers)
            counts = (
                None
                if fetched.entries is None
                else self._storage.store_entries(source.id, fetched.entries, fetch)
            )
        except StorageError as exc:
            # What one source brought was refused by the database (a value it cannot hold).
            return replace(base, error=self._refused(source, started, fetched.status, exc))
        if counts is None:
            self._record_unchanged(source, fetch)
            return replace(base, not_modified=True, warning=fetched.warning)
        return replace(
            base,
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
            warning=fetched.warning,
        )

    def _defer(
        self, source: Source, base: SourceUpdate, now: datetime, exc: DeferredError
    ) -> SourceUpdate:
        """A source whose host paused the run before its request was sent: no error is
        counted and nothing it holds changes; it is due again when the pause ends."""
        pause = min(max(exc.retry_after or 0.0, 0.0), MAX_RETRY_AFTER.total_seconds())
        note = one_line(exc)
        due = now + timedelta(seconds=pause)
        self._storage.record_fetch(
            source.id, FetchState(now, None, None, due, warning=note, deferred=True)
        )
        return replace(base, deferred=True, warning=note)

    async def run(self, sources: Sequence[Source]) -> list[SourceUpdate]:
        policies = self._registry.policies(self._settings, (s.kind for s in sources))
        settings = self._storage.source_settings([s.id for s in sources])
        run = _Run(self._settings, len(sources))
        results: list[SourceUpdate] = []
        try:
            async with self._fetcher_factory(policies) as fetcher:
                tasks = [
                    asyncio.create_task(
                        self._update_one(s, settings.get(s.id, ({}, {})), fetcher, run)
                    )
                    for s in sources
                ]
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
            run.close()
            # Interrupted or not, these sources are done: keep what they told us.
            self._flush_unchanged()
        order = {s.id: i for i, s in enumerate(sources)}
        results.sort(key=lambda r: order[r.source_id])
        return results
