"""The catalog part of the facade: browsing, imports, OPML, link checks, learning paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from mlradar._catalog.builtin import builtin_entries, catalog_version
from mlradar._catalog.kinds import KINDS
from mlradar._catalog.limits import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT
from mlradar._catalog.model import CatalogRecord, keyed, parse_level
from mlradar._catalog.paths import build_path
from mlradar._catalog.profiles import parse_profile, profile_entries, profile_tag
from mlradar._catalog.topics import topic as topic_slug
from mlradar._catalog.urls import match_key_or_none
from mlradar._identity.urls import canonical_url_or_none
from mlradar._radar._base import RadarBase
from mlradar._radar._sync import run_sync
from mlradar.exceptions import InvalidInputError, ParseError
from mlradar.types import (
    CatalogEntry,
    CatalogImport,
    CatalogKind,
    LearningPath,
    LinkCheck,
    LinkState,
    LinkStatus,
    OpmlImport,
    ProfileInit,
    Source,
)

if TYPE_CHECKING:
    from mlradar._catalog.opml import Attrs

_MARKDOWN_ACCEPT = "text/markdown, text/plain;q=0.9, */*;q=0.5"
_DEFAULT_HEAD = (("title", "mlradar subscriptions"),)


def _kind(text: str) -> CatalogKind:
    for kind in KINDS:
        if text.strip().lower() == kind:
            return kind
    raise InvalidInputError(f"unknown kind {text!r}: use one of {', '.join(KINDS)}")


def _feed_url(raw: str) -> str | None:
    """An OPML xmlUrl as an http(s) URL; ``feed://`` is the old way to write http://."""
    raw = raw.strip()
    if raw.lower().startswith("feed://"):
        raw = "http://" + raw[len("feed://") :]
    return canonical_url_or_none(raw)


class CatalogMixin(RadarBase):
    # -- the built-in catalog ----------------------------------------------------------------

    def load_catalog(self) -> int:
        """Write the built-in catalog into the database if it is missing or out of date."""
        version = catalog_version()
        if self._storage.builtin_catalog_version() == version:
            return len(builtin_entries())
        return self._storage.sync_builtin_catalog(builtin_entries(), version)

    def catalog(
        self,
        *,
        topic: str | None = None,
        level: str | None = None,
        kind: str | None = None,
        status: str | None = None,
    ) -> list[CatalogEntry]:
        """The catalog, optionally filtered by topic, level, kind and link status."""
        self.load_catalog()
        entries = self._storage.list_catalog()
        if topic is not None:
            wanted = topic_slug(topic)
            if wanted is None:
                raise InvalidInputError(f"{topic!r} is not a topic")
            entries = [e for e in entries if wanted in e.topics]
        if level is not None:
            lvl = parse_level(level)
            entries = [e for e in entries if e.level == lvl]
        if kind is not None:
            k = _kind(kind)
            entries = [e for e in entries if e.kind == k]
        if status is not None:
            states = get_args(LinkState)
            if status not in (*states, "unchecked"):
                raise InvalidInputError(f"unknown status {status!r}: use {', '.join(states)}")
            wanted_status = None if status == "unchecked" else status
            entries = [e for e in entries if e.status == wanted_status]
        return entries

    def catalog_entry(self, ref: int | str) -> CatalogEntry:
        """One entry by its slug or id."""
        self.load_catalog()
        return self._storage.get_catalog_entry(ref)

    # -- Markdown lists ------------------------------------------------------------------------

    def import_markdown(
        self,
        source: str,
        *,
        origin: str | None = None,
        level: str | None = None,
        kind: str | None = None,
    ) -> CatalogImport:
        """Import a Markdown reading list from a file path or an http(s) URL.

        ``level`` says who the list is for; ``kind`` what its links are when their URL and
        words do not tell.
        """
        from mlradar._catalog.markdown import MAX_MARKDOWN_BYTES, decode_markdown

        if source.lower().startswith(("http://", "https://")):
            data, media_type = run_sync(self._fetch_markdown(source))
            where = origin or source
        else:
            path = Path(source).expanduser()
            try:
                if path.stat().st_size > MAX_MARKDOWN_BYTES:
                    raise InvalidInputError(f"{source}: too large for a reading list")
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidInputError(f"{source}: cannot read: {exc.strerror}") from None
            media_type = None
            where = origin or str(path.resolve())
        text = decode_markdown(data, where)
        result = self.import_markdown_text(text, origin=where, level=level, kind=kind)
        if result.found == 0 and media_type == "text/html":
            raise ParseError(source, "this is an HTML page, not Markdown: no list entries found")
        return result

    async def _fetch_markdown(self, url: str) -> tuple[bytes, str | None]:
        from mlradar._catalog.markdown import raw_markdown_url

        async with self._core.fetcher() as fetcher:
            resp = await fetcher.get(raw_markdown_url(url), accept=_MARKDOWN_ACCEPT)
        return resp.content, resp.media_type

    def import_markdown_text(
        self, text: str, *, origin: str, level: str | None = None, kind: str | None = None
    ) -> CatalogImport:
        """Import a Markdown reading list given as text; ``origin`` names where it came from."""
        from mlradar._catalog.markdown import parse_markdown_list

        self.load_catalog()
        parsed = parse_markdown_list(
            text,
            level=parse_level(level) if level else None,
            kind=_kind(kind) if kind else None,
        )
        records = [
            keyed(
                CatalogRecord(
                    url=r.url,
                    slug=r.name,
                    name=r.name,
                    kind=r.kind,
                    topics=r.topics,
                    level=r.level,
                    description=r.description,
                    feed_url=r.feed_url,
                    builtin=False,
                    origin=origin,
                    heading_path=r.heading_path,
                )
            )
            for r in parsed.resources
        ]
        counts = self._storage.merge_catalog_records(records)
        return CatalogImport(
            origin=origin,
            found=len(records),
            added=counts.added,
            merged=counts.merged,
            slugs=counts.slugs,
        )

    # -- profiles --------------------------------------------------------------------------------

    def init_profile(self, profile: str) -> ProfileInit:
        """Load the catalog and subscribe to the feeds that suit ``profile``.

        Nothing is fetched: the sources are stored as the catalog names them and the next
        ``update`` reads them.  Running it again changes nothing.
        """
        which = parse_profile(profile)
        count = self.load_catalog()
        tag = profile_tag(which)
        existing = self._sources_by_url()
        added: list[str] = []
        already: list[str] = []
        for entry in profile_entries(self._storage.list_catalog(), which):
            assert entry.feed_url is not None
            key = canonical_url_or_none(entry.feed_url) or entry.feed_url
            source = existing.get(key)
            if source is None:
                source = self._storage.add_source(
                    self._user_id,
                    entry.feed_url,
                    "feed",
                    name=entry.name,
                    home_url=entry.url,
                    tags=[tag],
                    canonical_url=key,
                )
                existing[key] = source
                added.append(entry.slug)
            else:
                if tag not in source.tags:
                    self._storage.set_source_tags(source.id, add=[tag], user_id=self._user_id)
                already.append(entry.slug)
        return ProfileInit(which, count, tuple(added), tuple(already))

    def _sources_by_url(self) -> dict[str, Source]:
        return {
            canonical_url_or_none(s.url) or s.url: s
            for s in self._storage.list_sources(user_id=self._user_id)
            if s.kind == "feed"
        }

    # -- OPML --------------------------------------------------------------------------------------

    def import_opml(self, source: str | bytes, *, origin: str = "OPML") -> OpmlImport:
        """Subscribe to every feed of an OPML file (a path, or its bytes).

        Folders become tags (nested ones joined by ``/``); feeds already subscribed gain the
        tag.  What the file said is kept so that :meth:`export_opml` writes it back as it was.
        """
        from mlradar._catalog.opml import MAX_OPML_BYTES, flatten, parse_opml

        if isinstance(source, bytes):
            data = source
        else:
            origin = source
            try:
                path = Path(source).expanduser()
                if path.stat().st_size > MAX_OPML_BYTES:
                    raise ParseError(source, "too large for an OPML file")
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidInputError(f"{source}: cannot read: {exc.strerror}") from None
        doc = parse_opml(data, origin)
        flat = flatten(doc)
        store = self._storage.opml_store(self._user_id)
        offset = store.max_position
        existing = self._sources_by_url()
        skipped = list(flat.skipped)
        outlines: list[tuple[int, str | None, tuple[tuple[str, str], ...], int]] = []
        seen: set[tuple[int, str | None]] = set()
        added_ids: set[int] = set()
        for feed in flat.feeds:
            url = _feed_url(feed.url)
            if url is None:
                skipped.append(f"feed {feed.url!r}: not an http(s) URL")
                continue
            tags = [feed.folder] if feed.folder else []
            sub = existing.get(url)
            if sub is None:
                attrs = dict(feed.attrs)
                raw = feed.url.strip()
                sub = self._storage.add_source(
                    self._user_id,
                    raw if raw.lower().startswith(("http://", "https://")) else url,
                    "feed",
                    canonical_url=url,
                    name=(attrs.get("text") or attrs.get("title") or "").strip() or None,
                    home_url=canonical_url_or_none(attrs.get("htmlUrl")),
                    tags=tags,
                )
                added_ids.add(sub.id)
            elif feed.folder and feed.folder not in sub.tags:
                sub = self._storage.set_source_tags(sub.id, add=tags, user_id=self._user_id)
            existing[url] = sub
            if (sub.id, feed.folder) in seen:
                skipped.append(f"feed {feed.url!r}: listed twice in one folder, kept once")
                continue
            seen.add((sub.id, feed.folder))
            outlines.append((sub.id, feed.folder, feed.attrs, offset + feed.position))
        folders = [(f.path, f.attrs, offset + f.position) for f in flat.folders]
        self._storage.save_opml(self._user_id, folders, outlines, doc.head, doc.version)
        return OpmlImport(
            feeds=len(flat.feeds),
            added=len(added_ids),
            existing=len({sid for sid, _ in seen} - added_ids),
            folders=len(flat.folders),
            skipped=tuple(skipped),
        )

    def export_opml(self, *, tag: str | None = None) -> bytes:
        """Every feed source as OPML: folders from tags, and imported files as they were.

        Only plain feeds are exported; connector sources (arXiv queries and the like) are
        not feeds a reader could follow.
        """
        from mlradar._catalog.opml import ExportFeed, build_document, write_opml

        store = self._storage.opml_store(self._user_id)
        feeds: list[ExportFeed] = []
        for source in self._storage.list_sources(user_id=self._user_id, tag=tag):
            if source.kind != "feed":
                continue
            recorded = {
                folder: (self._current_attrs(source, attrs), position)
                for (source_id, folder), (attrs, position) in store.outlines.items()
                if source_id == source.id
            }
            if recorded:
                # Folders it was never imported into get the attributes it was first seen with.
                default = min(recorded.values(), key=lambda ap: ap[1])[0]
            else:
                default = self._made_attrs(source)
            folders: tuple[str | None, ...] = tuple(source.tags) or (None,)
            feeds.append(ExportFeed(folders, default, recorded, source.id))
        head = _DEFAULT_HEAD if store.head is None else store.head
        doc = build_document(feeds, store.folders, head=head, version=store.version or "2.0")
        return write_opml(doc)

    @staticmethod
    def _current_attrs(source: Source, attrs: Attrs) -> Attrs:
        """Imported attributes, with ``xmlUrl`` updated if the source has moved since."""
        xml_url = next((v for k, v in attrs if k.lower() == "xmlurl"), "")
        if _feed_url(xml_url) == (canonical_url_or_none(source.url) or source.url):
            return attrs
        return tuple((k, source.url if k.lower() == "xmlurl" else v) for k, v in attrs)

    @staticmethod
    def _made_attrs(source: Source) -> Attrs:
        """The outline of a source that no OPML import described."""
        name = source.display_name
        made = [("type", "rss"), ("text", name), ("title", name), ("xmlUrl", source.url)]
        if source.home_url:
            made.append(("htmlUrl", source.home_url))
        return tuple(made)

    # -- link health ------------------------------------------------------------------------------

    def check_links(
        self,
        refs: Sequence[str] | None = None,
        *,
        kind: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        progress: Callable[[LinkCheck], None] | None = None,
    ) -> list[LinkCheck]:
        """Check the catalog's URLs (all, or the entries named) and store the results.

        Each result is stored as soon as it is known, so an interrupted run keeps them.
        """
        return run_sync(
            self.check_links_async(
                refs, kind=kind, timeout=timeout, concurrency=concurrency, progress=progress
            )
        )

    async def check_links_async(
        self,
        refs: Sequence[str] | None = None,
        *,
        kind: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        progress: Callable[[LinkCheck], None] | None = None,
    ) -> list[LinkCheck]:
        if timeout <= 0 or concurrency < 1:
            raise InvalidInputError("timeout must be positive and concurrency at least 1")
        entries = [self.catalog_entry(r) for r in refs] if refs else self.catalog(kind=kind)
        by_id = {e.id: e for e in entries}
        done: list[LinkCheck] = []

        def store(entry_id: int, link: LinkStatus) -> None:
            self._storage.record_link_check(entry_id, link, match_key_or_none(link.new_url))
            entry = by_id[entry_id]
            check = LinkCheck(entry.slug, entry.url, link)
            done.append(check)
            if progress is not None:
                progress(check)

        from mlradar._catalog import health

        await health.check_links(
            [(e.id, e.url) for e in entries],
            self._settings,
            timeout=timeout,
            concurrency=concurrency,
            on_result=store,
            fetcher_factory=self._core.fetcher_factory,
        )
        order = {e.id: i for i, e in enumerate(entries)}
        slug_order = {e.slug: order[e.id] for e in entries}
        return sorted(done, key=lambda c: slug_order[c.slug])

    # -- learning paths ---------------------------------------------------------------------------

    def learning_path(self, *, level: str | None = None, goal: str | None = None) -> LearningPath:
        """The ordered study plan, with this user's progress."""
        self.load_catalog()
        return build_path(
            self._storage.list_catalog(),
            user=self.user,
            level=parse_level(level) if level else None,
            goal=goal,
            done=self._storage.path_progress(self._user_id),
        )

    def mark_done(self, ref: str, *, done: bool = True) -> CatalogEntry:
        """Mark a catalog entry (a path step) done for this user, or not done.  ``ref``: the
        entry's id (slug), or the step's number as ``mlradar path`` shows it."""
        if ref.strip().isdigit():
            from mlradar._catalog.paths import step_by_number

            ref = step_by_number(self.learning_path(), int(ref)).slug
        entry = self.catalog_entry(ref)
        self._storage.set_path_done(self._user_id, entry.id, done)
        return entry
