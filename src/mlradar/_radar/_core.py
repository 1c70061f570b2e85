"""The core: one per process.  It holds what is costly to make and shared by every user.

The database engine (and the only place that migrates it), the settings, the connector
registry, how HTTP clients are made, and the caches that outlive a request (the ranking
index, trained profiles, the query embedder).  A user's work goes through a cheap view,
:meth:`RadarCore.for_user`, which the CLI makes once per command and the web app once
per request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, TypeAlias

from mlradar._config import Settings, load_settings
from mlradar._radar._stories import backfill_stories, decide_stories
from mlradar._radar._sync import run_sync
from mlradar._storage import normalize_url
from mlradar._storage._head import sqlite_file
from mlradar._storage._lite import LiteReads, Reads
from mlradar._update.schedule import utcnow
from mlradar.exceptions import SourceNotFoundError
from mlradar.types import (
    FeedView,
    Source,
    SourceUpdate,
    Stats,
    UpdateRun,
    UpdateSummary,
    User,
)

if TYPE_CHECKING:
    # Imported where used: a command that neither fetches nor adds sources (`stats`,
    # `items`) should not pay for httpx, feedparser and lxml at start-up.
    from mlradar._connectors import Registry
    from mlradar._fetch import Fetcher, HostPolicy
    from mlradar._radar import Radar
    from mlradar._radar._accounts import Accounts
    from mlradar._storage import Storage
    from mlradar._update.pipeline import ProgressCallback

#: Runs of this many sources or more index their items for search in batches (SQLite).
FTS_DEFER_SOURCES = 8
#: Sources stored between two of those batches: how long new items stay unsearchable.
FTS_CATCH_UP_SOURCES = 100

#: Makes an HTTP client from settings and host policies.  Inject one to reroute every
#: request mlradar makes (tests point it at loopback servers).
FetcherFactory: TypeAlias = "Callable[[Settings, Mapping[str, HostPolicy]], Fetcher]"


def default_fetcher(settings: Settings, policies: Mapping[str, HostPolicy]) -> Fetcher:
    from mlradar._fetch import Fetcher

    return Fetcher(settings, policies=policies)


class RadarCore:
    """A radar over one database, shared by all its users.  Open with :meth:`open`."""

    def __init__(
        self,
        storage: Storage | Callable[[], Storage],
        settings: Settings,
        *,
        registry: Registry | None = None,
        fetcher_factory: FetcherFactory | None = None,
        reads: LiteReads | None = None,
    ) -> None:
        # The full storage, or how to open it on first use: a command answered by the
        # light reads alone (`stats`, `items`) never imports SQLAlchemy.
        self._storage_or_opener = storage
        self._storage_lock = threading.Lock()
        self._reads = reads
        self._settings = settings
        self._registry = registry
        self._fetcher_factory = fetcher_factory or default_fetcher
        self._registry_lock = threading.Lock()
        #: Caches that outlive views (see RadarBase): by name.
        self._shared: dict[str, Any] = {}
        if not callable(storage):
            self._wire(storage)

    @staticmethod
    def _wire(storage: Storage) -> None:
        # Stories are joined as items are written, by the domain's decision (storage
        # imports no domain package: it is handed the function).
        storage.story_decider = decide_stories

    @property
    def _storage(self) -> Storage:
        """The full storage, opened (and migrated) on first use."""
        found = self._storage_or_opener
        if not callable(found):
            return found
        with self._storage_lock:
            if callable(self._storage_or_opener):
                opened = self._storage_or_opener()
                self._wire(opened)
                self._storage_or_opener = opened
            return self._storage_or_opener

    @property
    def reads(self) -> Reads:
        """Where reads that both paths answer go: the light reads when the database
        allows them (SQLite at the newest revision), else the full storage."""
        return self._reads if self._reads is not None else self._storage

    @classmethod
    def open(
        cls,
        database_url: str | None = None,
        *,
        registry: Registry | None = None,
        fetcher_factory: FetcherFactory | None = None,
        **settings: Any,
    ) -> RadarCore:
        """Open (creating and migrating as needed) the radar stored at ``database_url``.

        With no URL, the setting ``database_url`` is used: ``MLRADAR_DATABASE_URL``, the
        config file, else SQLite in the user's data directory.  Keyword arguments override
        settings (``allow_private_networks=True``).
        """
        if database_url is not None:
            settings["database_url"] = database_url
        resolved = load_settings(**settings)
        # One spelling from here on: a plain path becomes a sqlite:/// URL for every part.
        resolved = resolved.model_copy(
            update={"database_url": normalize_url(resolved.database_url)}
        )
        url = resolved.database_url
        reads = LiteReads.open(url)

        def opener() -> Storage:
            from mlradar._storage import open_storage

            return open_storage(url)

        return cls(
            # Opened now when it must migrate, so that a bad or old database fails here.
            opener if reads is not None else opener(),
            resolved,
            registry=registry,
            fetcher_factory=fetcher_factory,
            reads=reads,
        )

    # -- what the core holds -----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def registry(self) -> Registry:
        """The source kinds: the built-in connectors and the installed plug-ins."""
        with self._registry_lock:
            if self._registry is None:
                from mlradar._connectors import default_registry

                self._registry = default_registry(self._settings)
            return self._registry

    @property
    def fetcher_factory(self) -> FetcherFactory:
        return self._fetcher_factory

    def fetcher(
        self,
        policies: Mapping[str, HostPolicy] | None = None,
        *,
        settings: Settings | None = None,
    ) -> Fetcher:
        """A new HTTP client (use as ``async with``)."""
        return self._fetcher_factory(settings or self._settings, policies or {})

    # -- users -------------------------------------------------------------------------------

    def for_user(self, user: str | User | None = None) -> Radar:
        """A view that acts as ``user`` (a name, or a record already looked up); the
        default user (setting ``user``) when None.  Cheap and free of I/O: an unknown
        name fails on first use with NotFoundError."""
        from mlradar._radar import Radar

        if isinstance(user, User):
            return Radar(self, user.name, user_id=user.id)
        return Radar(self, user or self._settings.user)

    def add_user(self, name: str) -> User:
        """Create a user (UserExistsError when the name is taken)."""
        from mlradar._radar._library import check_user_name

        return self._storage.add_user(check_user_name(name))

    def ensure_user(self, name: str) -> User:
        """The user named ``name``, created if there is none."""
        if self._reads is not None and (found := self._reads.find_user(name)) is not None:
            return found
        return self._storage.ensure_user(name)

    def user(self, name: str) -> User:
        """The user named ``name``; NotFoundError when there is none."""
        found = self._storage.find_user(name)
        if found is None:
            self._storage.user_id(name)  # raises the error that says what to do
        assert found is not None
        return found

    @property
    def accounts(self) -> Accounts:
        """Passwords, logins and API tokens (for the web app and ``user add --password``)."""
        from mlradar._radar._accounts import Accounts

        return Accounts(self._storage, self._settings)

    def users(self) -> list[User]:
        return self._storage.list_users()

    def remove_user(self, name: str) -> User:
        """Delete a user with everything that is theirs; sources only they followed go too."""
        found = self.user(name)
        self._storage.remove_user(found.id)
        return found

    # -- work for everyone -----------------------------------------------------------------

    def sources(self) -> list[Source]:
        """Every source someone follows (without any user's names or tags)."""
        return self._storage.list_sources()

    def due_sources(self, *, force: bool = False) -> list[Source]:
        return self._storage.due_sources(utcnow(), force=force)

    def update(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> UpdateSummary:
        """Fetch every followed source that is due (or the ones named, or all with
        ``force``): what a scheduler or ``mlradar worker`` runs for every user at once."""
        return run_sync(self.update_async(sources, force=force, progress=progress))

    async def update_async(
        self,
        sources: Sequence[int | str] | None = None,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> UpdateSummary:
        targets = (
            self._named(sources, None)
            if sources
            else self._storage.due_sources(utcnow(), force=force)
        )
        return await self.run_update(targets, progress=progress)

    def _named(self, refs: Sequence[int | str], user_id: int | None) -> list[Source]:
        # One query for all of them: the CLI passes every due source's id back in.
        found = self._storage.list_sources(refs=refs, user_id=user_id)
        known = {x.id for x in found} | {x.url for x in found} | {x.name for x in found}
        known |= {x.title for x in found}
        for ref in refs:
            if ref not in known and not (
                isinstance(ref, str) and ref.isdigit() and int(ref) in known
            ):
                raise SourceNotFoundError(str(ref), "no such source")
        return found

    async def run_update(
        self,
        targets: Sequence[Source],
        *,
        progress: ProgressCallback | None = None,
        trigger: str = "update",
    ) -> UpdateSummary:
        """Update exactly ``targets``; the run is recorded (see :meth:`last_update_run`)
        as ``trigger`` says who ran it (``update``, ``worker``, ``serve``)."""
        from mlradar._storage._bulk import UPDATE_WAL_AUTOCHECKPOINT
        from mlradar._update.pipeline import Updater

        def make(policies: Mapping[str, HostPolicy]) -> Fetcher:
            return self._fetcher_factory(self._settings, policies)

        backfill_stories(self._storage)  # items stored before stories existed (0007)
        started = utcnow()
        storage = self._storage
        # A large run indexes its items for search in batches, not row by row (SQLite;
        # see _storage._bulk); search sees them at each catch-up and at the end.
        deferred = len(targets) >= FTS_DEFER_SOURCES and storage.defer_item_fts()
        finished = 0

        def stored(update: SourceUpdate) -> None:
            nonlocal finished
            finished += 1
            if deferred and finished % FTS_CATCH_UP_SOURCES == 0:
                storage.index_deferred_items()
            if progress is not None:
                progress(update)

        # And checkpoints its WAL less often (storage.bulk_writes: fewer syncs to disk).
        on_file = deferred and sqlite_file(self._settings.database_url) is not None
        fewer_syncs = (
            storage.bulk_writes(UPDATE_WAL_AUTOCHECKPOINT) if on_file else contextlib.nullcontext()
        )
        try:
            try:
                updater = Updater(storage, self._settings, self.registry, make, progress=stored)
                with fewer_syncs:
                    summary = UpdateSummary(tuple(await updater.run(targets)))
            finally:
                # Whether this run deferred them or a run killed earlier left them so.
                storage.end_deferred_item_fts()
            self.sync_rank_index_after_write(bool(summary.new or summary.updated))
        except BaseException as exc:
            self._record_run(UpdateRun(started, utcnow(), trigger, len(targets), error=_why(exc)))
            raise
        self._record_run(
            UpdateRun(
                started,
                utcnow(),
                trigger,
                len(summary.sources),
                summary.new,
                summary.updated,
                summary.failed,
            )
        )
        return summary

    def _record_run(self, run: UpdateRun) -> None:
        from mlradar.exceptions import StorageError

        # What the run stored is kept; at worst its log line is lost.
        with contextlib.suppress(StorageError):
            self._storage.record_update_run(run)

    def last_update_run(self) -> UpdateRun | None:
        """When the updater last ran and how it went (None: never)."""
        return self._storage.last_update_run()

    # -- private feeds ---------------------------------------------------------------------

    def radar_for_feed_token(self, token: str) -> tuple[Radar, FeedView | None]:
        """The view of the user a private-feed token belongs to, and the one feed it opens
        (None: all of the user's).  FeedTokenError when unknown or revoked."""
        from mlradar._feedsout import hash_token
        from mlradar._radar._feedsout import touch_due
        from mlradar.exceptions import FeedTokenError

        found = self._storage.feed_token_by_hash(hash_token(token)) if token else None
        if found is None:
            raise FeedTokenError("unknown or revoked feed token")
        user_id, record = found
        now = utcnow()
        if touch_due(record.last_used_at, now):
            self._storage.touch_feed_token(record.id, now)
        return self.for_user(User(user_id, record.user, record.created_at)), record.view

    def atom_feed_for_token(
        self, token: str, view: FeedView, *, self_url: str | None = None
    ) -> bytes:
        """The Atom feed ``view`` of the token's user, when the token opens it
        (``self_url``: see :meth:`Radar.atom_feed`)."""
        from mlradar._feedsout import parse_view
        from mlradar._radar._feedsout import check_feed_scope

        view = parse_view(view.kind, view.arg)  # one spelling, before comparing scopes
        radar, scope = self.radar_for_feed_token(token)
        check_feed_scope(scope, view)
        return radar.atom_feed(view, self_url=self_url)

    def sync_rank_index(self) -> int:
        """Bring the ranking index up to date with the database (under its lock); the
        writers call it: updates and imports.  Returns the rows written."""
        # The index belongs to no user; a view is only the way to its plumbing (and no
        # user is looked up).
        return self.for_user(self._settings.user).sync_rank_index()

    def sync_rank_index_after_write(self, wrote: bool) -> int:
        """The writers' sync: when they wrote rows, and also when they wrote none but the
        index is behind the database.  A writer killed during its sync leaves its rows
        committed and the index short of them; rerunning it (a resumed import, a harvest
        with nothing new) writes nothing, and must still bring the index up to date."""
        view = self.for_user(self._settings.user)
        if wrote or view.rank_index_behind():
            return view.sync_rank_index()
        return 0

    def stats(self) -> Stats:
        """Counts over everything stored, every user's sources included."""
        return self.reads.stats()

    # -- scheduled work --------------------------------------------------------------------

    def start_background(self) -> Any:
        """Run due updates and due digests in a background thread (what ``serve`` calls);
        returns the handle to stop it.  See :func:`mlradar._worker.start_background`."""
        from mlradar._worker import start_background

        return start_background(self)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        if not callable(self._storage_or_opener):
            self._storage_or_opener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return " ".join(f"{exc.__class__.__name__}: {exc}".split())
