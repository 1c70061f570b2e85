"""Sources (subscriptions), their tags, and their fetch state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mlradar._identity.urls import canonical_url_or_none
from mlradar._model import FetchState
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow
from mlradar.exceptions import SourceExistsError, SourceNotFoundError
from mlradar.types import Source, SourceKind, SourceState


def _row_to_source(row: Row[Any], tags: Sequence[str], count: int) -> Source:
    return Source(
        id=row.id,
        url=row.url,
        kind=row.kind,
        name=row.name,
        title=row.title,
        home_url=row.home_url,
        added_at=row.added_at,
        tags=tuple(sorted(tags)),
        item_count=count,
        state=SourceState(
            last_fetched_at=row.last_fetched_at,
            last_status=row.last_status,
            consecutive_errors=row.consecutive_errors,
            last_error=row.last_error,
            next_due_at=row.next_due_at,
            etag=row.etag,
            last_modified=row.last_modified,
            last_new_at=row.last_new_at,
        ),
    )


class SourcesStorage(StorageBase):
    def add_source(
        self,
        url: str,
        kind: SourceKind,
        *,
        name: str | None = None,
        title: str | None = None,
        home_url: str | None = None,
        tags: Iterable[str] = (),
        config: dict[str, Any] | None = None,
        canonical_url: str | None = None,
    ) -> Source:
        if canonical_url is None and kind == "feed":
            canonical_url = canonical_url_or_none(url)
        try:
            with self.begin() as conn:
                result = conn.execute(
                    insert(s.sources).values(
                        url=url,
                        canonical_url=canonical_url,
                        kind=kind,
                        name=name,
                        title=title,
                        home_url=home_url,
                        added_at=utcnow(),
                        config=json.dumps(config) if config else None,
                        consecutive_errors=0,
                    )
                )
                source_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                tag_rows = [{"source_id": source_id, "tag": t} for t in sorted(set(tags))]
                if tag_rows:
                    conn.execute(insert(s.source_tags), tag_rows)
        except IntegrityError as exc:
            raise SourceExistsError(url, "already subscribed") from exc
        return self.get_source(source_id)

    def _source_query(self) -> Any:
        counts = (
            select(s.items.c.source_id, func.count().label("n"))
            .group_by(s.items.c.source_id)
            .subquery()
        )
        return select(s.sources, func.coalesce(counts.c.n, 0).label("item_count")).outerjoin(
            counts, counts.c.source_id == s.sources.c.id
        )

    def _tags_for(self, conn: Any, ids: Sequence[int]) -> dict[int, list[str]]:
        tags: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            rows = conn.execute(select(s.source_tags).where(s.source_tags.c.source_id.in_(ids)))
            for r in rows:
                tags[r.source_id].append(r.tag)
        return tags

    def get_source(self, ref: int | str) -> Source:
        """A source by id or by URL (or by name, when unambiguous)."""
        found = self.list_sources(refs=[ref])
        if not found:
            raise SourceNotFoundError(str(ref), "no such source")
        return found[0]

    def list_sources(
        self, *, tag: str | None = None, refs: Sequence[int | str] | None = None
    ) -> list[Source]:
        query = self._source_query().order_by(s.sources.c.id)
        if tag is not None:
            tagged = select(s.source_tags.c.source_id).where(s.source_tags.c.tag == tag)
            query = query.where(s.sources.c.id.in_(tagged))
        if refs is not None:
            ids = [int(r) for r in refs if isinstance(r, int) or str(r).isdigit()]
            names = [str(r) for r in refs]
            query = query.where(
                or_(
                    s.sources.c.id.in_(ids),
                    s.sources.c.url.in_(names),
                    s.sources.c.name.in_(names),
                )
            )
        with self.read() as conn:
            rows = conn.execute(query).all()
            tags = self._tags_for(conn, [r.id for r in rows])
        return [_row_to_source(r, tags[r.id], r.item_count) for r in rows]

    def find_source(self, canonical_url: str) -> Source | None:
        """The source stored under this canonical URL (or with it as its URL), if any."""
        with self.read() as conn:
            found = conn.execute(
                select(s.sources.c.id).where(
                    or_(
                        s.sources.c.canonical_url == canonical_url, s.sources.c.url == canonical_url
                    )
                )
            ).first()
        return None if found is None else self.get_source(found.id)

    def source_config(self, source_id: int) -> dict[str, Any]:
        with self.read() as conn:
            value = conn.execute(
                select(s.sources.c.config).where(s.sources.c.id == source_id)
            ).scalar_one_or_none()
        return dict(json.loads(value)) if value else {}

    def remove_source(self, ref: int | str) -> Source:
        source = self.get_source(ref)
        with self.begin() as conn:
            conn.execute(delete(s.sources).where(s.sources.c.id == source.id))
        return source

    def set_source_tags(
        self, ref: int | str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Source:
        source = self.get_source(ref)
        add_set = set(add) - set(source.tags)
        with self.begin() as conn:
            if remove:
                conn.execute(
                    delete(s.source_tags).where(
                        s.source_tags.c.source_id == source.id,
                        s.source_tags.c.tag.in_(list(remove)),
                    )
                )
            if add_set:
                conn.execute(
                    insert(s.source_tags),
                    [{"source_id": source.id, "tag": t} for t in sorted(add_set)],
                )
        return self.get_source(source.id)

    def set_source_name(self, ref: int | str, name: str | None) -> Source:
        source = self.get_source(ref)
        with self.begin() as conn:
            conn.execute(update(s.sources).where(s.sources.c.id == source.id).values(name=name))
        return self.get_source(source.id)

    def due_sources(self, now: datetime, *, force: bool = False) -> list[Source]:
        sources = self.list_sources()
        if force:
            return sources
        return [x for x in sources if x.state.next_due_at is None or x.state.next_due_at <= now]

    def _record_fetch(self, conn: Any, source_id: int, fetch: FetchState, new: int) -> None:
        """Write the outcome of one fetch; errors count up, a success resets them."""
        values: dict[str, Any] = {
            "last_fetched_at": fetch.fetched_at,
            "last_status": fetch.status,
            "next_due_at": fetch.next_due_at,
        }
        if fetch.error is None:
            values.update(consecutive_errors=0, last_error=None)
            # A 304 carries no validators of its own worth keeping over the old ones.
            if fetch.etag is not None or fetch.last_modified is not None:
                values.update(etag=fetch.etag, last_modified=fetch.last_modified)
            if fetch.title:
                values["title"] = fetch.title
            if fetch.home_url:
                values["home_url"] = fetch.home_url
            if new:
                values["last_new_at"] = fetch.fetched_at
        else:
            values.update(
                consecutive_errors=s.sources.c.consecutive_errors + 1, last_error=fetch.error
            )
        conn.execute(update(s.sources).where(s.sources.c.id == source_id).values(**values))

    def record_fetch(self, source_id: int, fetch: FetchState) -> None:
        with self.begin() as conn:
            self._record_fetch(conn, source_id, fetch, 0)
