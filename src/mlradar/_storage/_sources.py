"""Sources, the users' subscriptions to them (names and tags), and their fetch state.

A source is stored once and fetched once, however many users follow it; a subscription
is one user's: the name they gave it and its tags.  A source nobody follows any longer is
deleted with its items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, null, or_, select, update
from sqlalchemy.exc import IntegrityError

from mlradar._model import FetchState
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow
from mlradar.exceptions import SourceExistsError, SourceNotFoundError
from mlradar.types import Source, SourceKind, SourceState

_subs, _tags = s.subscriptions, s.subscription_tags


def _row_to_source(row: Row[Any], tags: Sequence[str], count: int) -> Source:
    return Source(
        id=row.id,
        url=row.url,
        kind=row.kind,
        name=row.sub_name,
        title=row.title,
        home_url=row.home_url,
        added_at=row.sub_added_at or row.added_at,
        tags=tuple(sorted(tags)),
        item_count=count,
        state=SourceState(
            last_fetched_at=row.last_fetched_at,
            last_status=row.last_status,
            consecutive_errors=row.consecutive_errors,
            last_error=row.last_error,
            next_due_at=row.next_due_at,
            last_new_at=row.last_new_at,
            last_warning=row.last_warning,
        ),
    )


class SourcesStorage(StorageBase):
    def add_source(
        self,
        user_id: int,
        url: str,
        kind: SourceKind,
        *,
        name: str | None = None,
        title: str | None = None,
        home_url: str | None = None,
        tags: Iterable[str] = (),
        config: Mapping[str, Any] | None = None,
        canonical_url: str | None = None,
    ) -> Source:
        """Subscribe the user to a source, storing the source unless someone follows it
        already (found by URL or canonical URL).  SourceExistsError when the user does."""
        try:
            with self.begin() as conn:
                source_id = self._find_source_id(conn, url, canonical_url)
                if source_id is None:
                    result = conn.execute(
                        insert(s.sources).values(
                            url=url,
                            canonical_url=canonical_url,
                            kind=kind,
                            title=title,
                            home_url=home_url,
                            added_at=utcnow(),
                            config=json.dumps(dict(config)) if config else None,
                            consecutive_errors=0,
                        )
                    )
                    source_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                elif self._subscribed(conn, user_id, source_id):
                    raise SourceExistsError(url, f"already subscribed as source {source_id}")
                conn.execute(
                    insert(_subs).values(
                        user_id=user_id, source_id=source_id, name=name, added_at=utcnow()
                    )
                )
                tag_rows = [
                    {"user_id": user_id, "source_id": source_id, "tag": t}
                    for t in sorted(set(tags))
                ]
                if tag_rows:
                    conn.execute(insert(_tags), tag_rows)
        except IntegrityError as exc:  # a concurrent add of the same source
            raise SourceExistsError(url, "already subscribed") from exc
        return self.get_source(source_id, user_id=user_id)

    def _find_source_id(self, conn: Connection, url: str, canonical: str | None) -> int | None:
        cond = s.sources.c.url == url
        if canonical:
            cond = or_(cond, s.sources.c.canonical_url == canonical, s.sources.c.url == canonical)
        found = conn.execute(select(s.sources.c.id).where(cond).limit(1)).first()
        return None if found is None else int(found.id)

    def _subscribed(self, conn: Connection, user_id: int, source_id: int) -> bool:
        return (
            conn.execute(
                select(_subs.c.source_id).where(
                    _subs.c.user_id == user_id, _subs.c.source_id == source_id
                )
            ).first()
            is not None
        )

    def find_source(self, canonical_url: str, *, user_id: int | None = None) -> Source | None:
        """The source stored under this canonical URL (or with it as its URL), among the
        user's subscriptions when ``user_id`` is given."""
        with self.read() as conn:
            source_id = self._find_source_id(conn, canonical_url, canonical_url)
            if source_id is None or (
                user_id is not None and not self._subscribed(conn, user_id, source_id)
            ):
                return None
        return self.get_source(source_id, user_id=user_id)

    def _source_query(self, user_id: int | None) -> Any:
        counts = (
            select(s.items.c.source_id, func.count().label("n"))
            .group_by(s.items.c.source_id)
            .subquery()
        )
        columns = [*s.sources.c, func.coalesce(counts.c.n, 0).label("item_count")]
        joined = s.sources.outerjoin(counts, counts.c.source_id == s.sources.c.id)
        if user_id is None:
            # Read through the core, a source shows no user's name.
            return select(
                *columns, null().label("sub_name"), null().label("sub_added_at")
            ).select_from(joined)
        mine = and_(_subs.c.source_id == s.sources.c.id, _subs.c.user_id == user_id)
        return select(
            *columns, _subs.c.name.label("sub_name"), _subs.c.added_at.label("sub_added_at")
        ).select_from(joined.join(_subs, mine))

    def _tags_for(
        self, conn: Connection, user_id: int | None, ids: Sequence[int]
    ) -> dict[int, list[str]]:
        tags: dict[int, list[str]] = {i: [] for i in ids}
        if ids and user_id is not None:
            rows = conn.execute(
                select(_tags.c.source_id, _tags.c.tag).where(
                    _tags.c.user_id == user_id, _tags.c.source_id.in_(ids)
                )
            )
            for r in rows:
                tags[r.source_id].append(r.tag)
        return tags

    def get_source(self, ref: int | str, *, user_id: int | None = None) -> Source:
        """A source by id, URL, or name (the user's name for it, or its title)."""
        found = self.list_sources(refs=[ref], user_id=user_id)
        if not found:
            raise SourceNotFoundError(str(ref), "no such source")
        return found[0]

    def list_sources(
        self,
        *,
        user_id: int | None = None,
        tag: str | None = None,
        refs: Sequence[int | str] | None = None,
    ) -> list[Source]:
        """The user's subscriptions (every source, when ``user_id`` is None)."""
        query = self._source_query(user_id).order_by(s.sources.c.id)
        if tag is not None:
            if user_id is None:
                return []
            tagged = select(_tags.c.source_id).where(_tags.c.user_id == user_id, _tags.c.tag == tag)
            query = query.where(s.sources.c.id.in_(tagged))
        if refs is not None:
            # Digits beyond a 64-bit integer are no id (the database would overflow on them).
            digits = [int(r) for r in refs if isinstance(r, int) or str(r).isdigit()]
            ids = [i for i in digits if 0 <= i < 2**63]
            names = [str(r) for r in refs]
            cond = [s.sources.c.id.in_(ids), s.sources.c.url.in_(names)]
            cond.append(s.sources.c.title.in_(names))
            if user_id is not None:
                cond.append(_subs.c.name.in_(names))
            query = query.where(or_(*cond))
        with self.read() as conn:
            rows = conn.execute(query).all()
            tags = self._tags_for(conn, user_id, [r.id for r in rows])
        return [_row_to_source(r, tags[r.id], r.item_count) for r in rows]

    def source_settings(
        self, source_ids: Sequence[int]
    ) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        """``id -> (config, state)`` of the sources: what their connectors stored."""
        out: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        with self.read() as conn:
            for i in range(0, len(source_ids), 500):
                rows = conn.execute(
                    select(s.sources.c.id, s.sources.c.config, s.sources.c.state).where(
                        s.sources.c.id.in_(source_ids[i : i + 500])
                    )
                )
                for r in rows:
                    out[int(r.id)] = (_json(r.config), _json(r.state))
        return out

    def source_config(self, source_id: int) -> dict[str, Any]:
        return self.source_settings([source_id]).get(source_id, ({}, {}))[0]

    def remove_source(self, ref: int | str, *, user_id: int) -> Source:
        """Unsubscribe the user; a source nobody follows any more goes, with its items."""
        source = self.get_source(ref, user_id=user_id)
        with self.begin() as conn:
            conn.execute(
                delete(_subs).where(_subs.c.user_id == user_id, _subs.c.source_id == source.id)
            )
            left = conn.execute(
                select(func.count()).select_from(_subs).where(_subs.c.source_id == source.id)
            ).scalar_one()
            if not left:
                conn.execute(delete(s.sources).where(s.sources.c.id == source.id))
        return source

    def set_source_tags(
        self,
        ref: int | str,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        *,
        user_id: int,
    ) -> Source:
        source = self.get_source(ref, user_id=user_id)
        add_set = set(add) - set(source.tags)
        with self.begin() as conn:
            if remove:
                conn.execute(
                    delete(_tags).where(
                        _tags.c.user_id == user_id,
                        _tags.c.source_id == source.id,
                        _tags.c.tag.in_(list(remove)),
                    )
                )
            if add_set:
                conn.execute(
                    insert(_tags),
                    [
                        {"user_id": user_id, "source_id": source.id, "tag": t}
                        for t in sorted(add_set)
                    ],
                )
        return self.get_source(source.id, user_id=user_id)

    def set_source_name(self, ref: int | str, name: str | None, *, user_id: int) -> Source:
        source = self.get_source(ref, user_id=user_id)
        with self.begin() as conn:
            conn.execute(
                update(_subs)
                .where(_subs.c.user_id == user_id, _subs.c.source_id == source.id)
                .values(name=name)
            )
        return self.get_source(source.id, user_id=user_id)

    def due_sources(
        self, now: datetime, *, force: bool = False, user_id: int | None = None
    ) -> list[Source]:
        """The sources someone follows (the user, when given) that are due at ``now``."""
        followed = select(_subs.c.source_id)
        if user_id is not None:
            followed = followed.where(_subs.c.user_id == user_id)
        query = self._source_query(user_id).where(s.sources.c.id.in_(followed))
        if not force:
            due = s.sources.c.next_due_at
            query = query.where(or_(due.is_(None), due <= now))
        with self.read() as conn:
            rows = conn.execute(query.order_by(s.sources.c.id)).all()
            tags = self._tags_for(conn, user_id, [r.id for r in rows])
        return [_row_to_source(r, tags[r.id], r.item_count) for r in rows]

    def _record_fetch(self, conn: Any, source_id: int, fetch: FetchState, new: int) -> None:
        """Write the outcome of one fetch; errors count up, a success resets them."""
        if fetch.deferred:
            conn.execute(
                update(s.sources)
                .where(s.sources.c.id == source_id)
                .values(next_due_at=fetch.next_due_at, last_warning=fetch.warning)
            )
            return
        values: dict[str, Any] = {
            "last_fetched_at": fetch.fetched_at,
            "last_status": fetch.status,
            "next_due_at": fetch.next_due_at,
        }
        if fetch.error is None:
            values.update(consecutive_errors=0, last_error=None, last_warning=fetch.warning)
            if fetch.state is not None:
                values["state"] = fetch.state
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
        self.record_fetches([(source_id, fetch)])

    def record_fetches(self, fetches: Sequence[tuple[int, FetchState]]) -> None:
        """:meth:`record_fetch` for several sources, in one transaction."""
        if not fetches:
            return
        with self.begin() as conn:
            for source_id, fetch in fetches:
                self._record_fetch(conn, source_id, fetch, 0)


def _json(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    loaded = json.loads(value)
    return dict(loaded) if isinstance(loaded, dict) else {}
