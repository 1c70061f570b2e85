"""The catalog of learning resources, link checks, learning-path progress, OPML outlines.

Entries are found by the match keys the catalog computes (:func:`mlradar._catalog.model.keyed`);
this module only stores and compares them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from mlradar._model import BUILTIN_ORIGIN, CatalogRecord
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, dumps, loads_tuple, utcnow
from mlradar.exceptions import NotFoundError
from mlradar.types import CatalogEntry, CatalogKind, CatalogOrigin, Level, LinkStatus

_BUILTIN_VERSION_KEY = "catalog.builtin_version"
_OPML_HEAD_KEY = "opml.head"
_MAX_SLUG = 60
_TOP_LEVEL = ""


@dataclass(frozen=True, slots=True)
class MergeCounts:
    added: int
    merged: int
    slugs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OpmlStore:
    """What earlier OPML imports recorded, for export and for the next import."""

    folders: Mapping[str, tuple[tuple[tuple[str, str], ...], int]]
    outlines: Mapping[tuple[int, str | None], tuple[tuple[tuple[str, str], ...], int]]
    head: tuple[tuple[str, str], ...] | None
    """The head of the last imported file (None when no file was imported)."""
    version: str | None
    max_position: int


def _attrs(value: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in json.loads(value))


class CatalogStorage(StorageBase):
    # -- reading -----------------------------------------------------------------------------

    def list_catalog(self) -> list[CatalogEntry]:
        """Every catalog entry, built-in ones in curated order, then imported ones."""
        query = select(s.catalog_entries).order_by(
            s.catalog_entries.c.position.is_(None),
            s.catalog_entries.c.position,
            s.catalog_entries.c.id,
        )
        with self.read() as conn:
            rows = conn.execute(query).all()
            return self._entries(conn, rows)

    def get_catalog_entry(self, ref: int | str) -> CatalogEntry:
        """An entry by slug (or by id given as an int or digits)."""
        cond = s.catalog_entries.c.slug == str(ref)
        if isinstance(ref, int) or str(ref).isdigit():
            cond = cond | (s.catalog_entries.c.id == int(ref))
        with self.read() as conn:
            rows = conn.execute(select(s.catalog_entries).where(cond)).all()
            found = self._entries(conn, rows)
        if not found:
            raise NotFoundError(f"no catalog entry {ref!r} (see `mlradar catalog` for ids)")
        return found[0]

    def _entries(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[CatalogEntry]:
        ids = [r.id for r in rows]
        origins: dict[int, list[CatalogOrigin]] = defaultdict(list)
        aliases: dict[int, list[str]] = defaultdict(list)
        checks: dict[int, LinkStatus] = {}
        for chunk in _chunks(ids):
            for o in conn.execute(
                select(s.catalog_origins).where(s.catalog_origins.c.entry_id.in_(chunk))
            ):
                origins[o.entry_id].append(CatalogOrigin(o.origin, loads_tuple(o.heading_path)))
            for k in conn.execute(
                select(s.catalog_keys).where(s.catalog_keys.c.entry_id.in_(chunk))
            ):
                aliases[k.entry_id].append(k.url)
            for c in conn.execute(select(s.link_checks).where(s.link_checks.c.entry_id.in_(chunk))):
                checks[c.entry_id] = LinkStatus(
                    status=c.status,
                    checked_at=c.checked_at,
                    http_status=c.http_status,
                    new_url=c.new_url,
                    error=c.error,
                )
        return [
            CatalogEntry(
                id=r.id,
                slug=r.slug,
                name=r.name,
                url=r.url,
                kind=cast(CatalogKind, r.kind),
                topics=loads_tuple(r.topics),
                level=cast(Level | None, r.level),
                description=r.description,
                feed_url=r.feed_url,
                builtin=bool(r.builtin),
                retired=r.retired,
                aliases=tuple(sorted({a for a in aliases[r.id] if a != r.url})),
                origins=tuple(
                    sorted(origins[r.id], key=lambda o: (o.origin != BUILTIN_ORIGIN, o.origin))
                ),
                link=checks.get(r.id),
            )
            for r in rows
        ]

    # -- writing -----------------------------------------------------------------------------

    def builtin_catalog_version(self) -> str | None:
        return self.get_state(_BUILTIN_VERSION_KEY)

    def sync_builtin_catalog(self, records: Sequence[CatalogRecord], version: str) -> int:
        """Write the built-in entries (insert new, update changed) in one transaction.

        An imported entry with the same URL becomes the built-in one and keeps its origins
        and progress.  Returns the number of built-in entries.
        """
        with self.begin() as conn:
            slugs = self._slugs(conn)
            for record in records:
                entry_id = self._builtin_id(conn, record)
                values = self._values(record)
                if entry_id is None:
                    values["slug"] = _unique_slug(record.slug, slugs)
                    entry_id = self._insert_entry(conn, values)
                else:
                    current = conn.execute(
                        select(s.catalog_entries.c.slug).where(s.catalog_entries.c.id == entry_id)
                    ).scalar_one()
                    if current != record.slug and record.slug not in slugs:
                        values["slug"] = record.slug
                        slugs.discard(current)
                        slugs.add(record.slug)
                    conn.execute(
                        update(s.catalog_entries)
                        .where(s.catalog_entries.c.id == entry_id)
                        .values(**values)
                    )
                self._add_keys(conn, entry_id, _keys(record))
                self._add_origin(conn, entry_id, record.origin, record.heading_path)
            self.set_state(_BUILTIN_VERSION_KEY, version, conn)
        return len(records)

    def _builtin_id(self, conn: Connection, record: CatalogRecord) -> int | None:
        row = conn.execute(
            select(s.catalog_entries.c.id).where(
                s.catalog_entries.c.slug == record.slug, s.catalog_entries.c.builtin.is_(True)
            )
        ).first()
        if row is not None:
            return int(row.id)
        return self._find(conn, _keys(record))

    def merge_catalog_records(self, records: Sequence[CatalogRecord]) -> MergeCounts:
        """Add imported entries, or give existing ones (same URL) this origin too."""
        added = merged = 0
        slugs_out: list[str] = []
        with self.begin() as conn:
            slugs = self._slugs(conn)
            for record in records:
                entry_id = self._find(conn, _keys(record))
                if entry_id is None:
                    values = self._values(record)
                    values["slug"] = _unique_slug(record.slug, slugs)
                    entry_id = self._insert_entry(conn, values)
                    self._add_keys(conn, entry_id, _keys(record))
                    added += 1
                    slugs_out.append(values["slug"])
                else:
                    slugs_out.append(self._enrich(conn, entry_id, record))
                    merged += 1
                self._add_origin(conn, entry_id, record.origin, record.heading_path)
        return MergeCounts(added, merged, tuple(slugs_out))

    def _enrich(self, conn: Connection, entry_id: int, record: CatalogRecord) -> str:
        """Fill what an imported entry lacks; a built-in entry is left as written."""
        row = conn.execute(
            select(s.catalog_entries).where(s.catalog_entries.c.id == entry_id)
        ).one()
        if not row.builtin:
            conn.execute(
                update(s.catalog_entries)
                .where(s.catalog_entries.c.id == entry_id)
                .values(
                    # The union, in first-seen order.
                    topics=dumps(list(dict.fromkeys((*loads_tuple(row.topics), *record.topics)))),
                    description=row.description or record.description,
                    feed_url=row.feed_url or record.feed_url,
                    level=row.level or record.level,
                )
            )
        return str(row.slug)

    def _values(self, record: CatalogRecord) -> dict[str, Any]:
        return {
            "url": record.url,
            "name": record.name,
            "kind": record.kind,
            "feed_url": record.feed_url,
            "topics": dumps(list(record.topics)),
            "level": record.level,
            "description": record.description,
            "builtin": record.builtin,
            "retired": record.retired,
            "position": record.position,
        }

    def _insert_entry(self, conn: Connection, values: dict[str, Any]) -> int:
        # Another entry may already hold this exact URL under a different match key form.
        taken = conn.execute(
            select(s.catalog_entries.c.id).where(s.catalog_entries.c.url == values["url"])
        ).first()
        if taken is not None:
            return int(taken.id)
        result = conn.execute(insert(s.catalog_entries).values(created_at=utcnow(), **values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def _slugs(self, conn: Connection) -> set[str]:
        return set(conn.execute(select(s.catalog_entries.c.slug)).scalars())

    def _find(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> int | None:
        wanted = [k for k, _url in keys]
        row = conn.execute(
            select(s.catalog_keys.c.entry_id).where(s.catalog_keys.c.key.in_(wanted)).limit(1)
        ).first()
        return None if row is None else int(row.entry_id)

    def _add_keys(self, conn: Connection, entry_id: int, keys: Iterable[tuple[str, str]]) -> None:
        for key, url in keys:
            owner = conn.execute(
                select(s.catalog_keys.c.entry_id).where(s.catalog_keys.c.key == key)
            ).first()
            if owner is None:
                conn.execute(insert(s.catalog_keys).values(key=key, entry_id=entry_id, url=url))

    def _add_origin(
        self, conn: Connection, entry_id: int, origin: str, heading_path: Sequence[str]
    ) -> None:
        exists = conn.execute(
            select(s.catalog_origins.c.entry_id).where(
                s.catalog_origins.c.entry_id == entry_id, s.catalog_origins.c.origin == origin
            )
        ).first()
        if exists is None:
            conn.execute(
                insert(s.catalog_origins).values(
                    entry_id=entry_id, origin=origin, heading_path=dumps(list(heading_path))
                )
            )

    # -- link checks ---------------------------------------------------------------------------

    def record_link_check(
        self, entry_id: int, link: LinkStatus, new_key: str | None = None
    ) -> None:
        """Keep the latest check of an entry; a moved entry is also known at its new URL
        (under ``new_key``, its match key)."""
        values = {
            "checked_at": link.checked_at,
            "status": link.status,
            "http_status": link.http_status,
            "new_url": link.new_url,
            "error": link.error,
        }
        with self.begin() as conn:
            conn.execute(delete(s.link_checks).where(s.link_checks.c.entry_id == entry_id))
            conn.execute(insert(s.link_checks).values(entry_id=entry_id, **values))
            if link.status == "moved" and link.new_url and new_key:
                self._add_keys(conn, entry_id, [(new_key, link.new_url)])

    # -- learning-path progress ------------------------------------------------------------------

    def path_progress(self, user_id: int) -> dict[int, datetime]:
        with self.read() as conn:
            rows = conn.execute(
                select(s.path_progress.c.entry_id, s.path_progress.c.done_at).where(
                    s.path_progress.c.user_id == user_id
                )
            )
            return {int(r.entry_id): r.done_at for r in rows}

    def set_path_done(self, user_id: int, entry_id: int, done: bool) -> None:
        with self.begin() as conn:
            conn.execute(
                delete(s.path_progress).where(
                    s.path_progress.c.user_id == user_id, s.path_progress.c.entry_id == entry_id
                )
            )
            if done:
                conn.execute(
                    insert(s.path_progress).values(
                        user_id=user_id, entry_id=entry_id, done_at=utcnow()
                    )
                )

    # -- OPML outlines ---------------------------------------------------------------------------

    def opml_store(self, user_id: int) -> OpmlStore:
        """What the user's earlier OPML imports recorded."""
        folders_t, outlines_t = s.opml_folders, s.source_outlines
        with self.read() as conn:
            folders = {
                r.path: (_attrs(r.attrs), int(r.position))
                for r in conn.execute(select(folders_t).where(folders_t.c.user_id == user_id))
            }
            outlines: dict[tuple[int, str | None], tuple[tuple[tuple[str, str], ...], int]] = {
                (int(r.source_id), r.folder or None): (_attrs(r.attrs), int(r.position))
                for r in conn.execute(select(outlines_t).where(outlines_t.c.user_id == user_id))
            }
            top = max(
                conn.execute(
                    select(func.max(folders_t.c.position)).where(folders_t.c.user_id == user_id)
                ).scalar()
                or 0,
                conn.execute(
                    select(func.max(outlines_t.c.position)).where(outlines_t.c.user_id == user_id)
                ).scalar()
                or 0,
            )
        head_json = self.get_user_state(user_id, _OPML_HEAD_KEY)
        head: tuple[tuple[str, str], ...] | None = None
        version = None
        if head_json:
            saved = json.loads(head_json)
            head = tuple((str(k), str(v)) for k, v in saved["head"])
            version = saved.get("version")
        return OpmlStore(folders, outlines, head, version, int(top))

    def save_opml(
        self,
        user_id: int,
        folders: Iterable[tuple[str, tuple[tuple[str, str], ...], int]],
        outlines: Iterable[tuple[int, str | None, tuple[tuple[str, str], ...], int]],
        head: tuple[tuple[str, str], ...],
        version: str,
    ) -> None:
        """Record an import's folders and outlines (replacing what was known of them)."""
        folders_t, outlines_t = s.opml_folders, s.source_outlines
        with self.begin() as conn:
            for path, attrs, position in folders:
                conn.execute(
                    delete(folders_t).where(
                        folders_t.c.user_id == user_id, folders_t.c.path == path
                    )
                )
                conn.execute(
                    insert(folders_t).values(
                        user_id=user_id,
                        path=path,
                        attrs=dumps([list(a) for a in attrs]),
                        position=position,
                    )
                )
            for source_id, folder, attrs, position in outlines:
                key = folder or _TOP_LEVEL
                conn.execute(
                    delete(outlines_t).where(
                        outlines_t.c.user_id == user_id,
                        outlines_t.c.source_id == source_id,
                        outlines_t.c.folder == key,
                    )
                )
                conn.execute(
                    insert(outlines_t).values(
                        user_id=user_id,
                        source_id=source_id,
                        folder=key,
                        attrs=dumps([list(a) for a in attrs]),
                        position=position,
                    )
                )
            payload = dumps({"head": [list(h) for h in head], "version": version})
            t = s.user_state
            conn.execute(delete(t).where(t.c.user_id == user_id, t.c.key == _OPML_HEAD_KEY))
            conn.execute(insert(t).values(user_id=user_id, key=_OPML_HEAD_KEY, value=payload))


def _keys(record: CatalogRecord) -> tuple[tuple[str, str], ...]:
    if not record.keys:
        raise ValueError(f"catalog record {record.url!r} has no match keys (see keyed())")
    return record.keys


def _unique_slug(wanted: str, taken: set[str]) -> str:
    base = wanted[:_MAX_SLUG].strip("-") or "entry"
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]
