"""Items: storing parsed entries idempotently, listing, search and counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    true,
    tuple_,
    update,
)

from mlradar._model import FetchState, ParsedEntry, StoreCounts
from mlradar._storage import schema as s
from mlradar._storage._base import (
    StorageBase,
    dumps,
    insert_plain_rows,
    loads_tuple,
    sqlite_insert_returning,
    utcnow,
)
from mlradar._storage._dialects import (
    ITEM_WEIGHTS,
    ITEMS_FTS,
    PAPER_WEIGHTS,
    PAPERS_FTS,
    fts_search,
    postgres_rum_index,
)
from mlradar._storage._query import RANK_LIMIT, Query, parse_query
from mlradar.types import Item, PaperId, SearchHit, Stats

_CHUNK = 500


def _discussion(e: ParsedEntry) -> tuple[int | None, int | None, str | None]:
    d = e.discussion
    return (None, None, None) if d is None else (d.points, d.comments, d.comments_url)


def _talk_values(e: ParsedEntry) -> dict[str, Any]:
    return dict(zip(("points", "comments", "comments_url"), _discussion(e), strict=True))


def _entry_values(e: ParsedEntry) -> dict[str, Any]:
    points, comments, comments_url = _discussion(e)
    return {
        "points": points,
        "comments": comments,
        "comments_url": comments_url,
        "url": e.url,
        "link": e.link,
        "title": e.title,
        "author": e.author,
        "summary_html": e.summary_html,
        "content_html": e.content_html,
        "text": e.text,
        "categories": dumps(list(e.categories)) if e.categories else None,
        "published_at": e.published_at,
        "updated_at": e.updated_at,
        "content_hash": e.content_hash,
    }


def _refs(item_id: int, e: ParsedEntry) -> list[tuple[int, str, str]]:
    """What the entry names: papers by identifier, and (kind ``link``) the pages it links."""
    named = dict.fromkeys(
        [("arxiv", a) for a in e.arxiv_ids]
        + [("doi", d) for d in e.dois]
        + [(scheme, value) for scheme, value in e.refs]
        + [("link", url) for url in e.links]
    )
    return [(item_id, k, r) for k, r in named]


class ItemsStorage(StorageBase):
    _rum: bool | None = None  # see _fts_rum

    def store_entries(
        self, source_id: int, entries: Sequence[ParsedEntry], fetch: FetchState
    ) -> StoreCounts:
        """Insert new entries, update changed ones in place, and record the fetch.

        One transaction: a crash leaves either the whole feed stored or none of it.
        Points and comments that moved (a Hacker News story gaining votes) are written
        without counting the entry as updated: its content did not change.
        """
        unique: dict[str, ParsedEntry] = {}
        for e in entries:
            unique.setdefault(e.key, e)  # a feed that repeats a guid keeps the first
        now = fetch.fetched_at
        with self.begin() as conn:
            existing: dict[str, tuple[int, str]] = {}
            talk: dict[str, tuple[int | None, int | None, str | None]] = {}
            keys = list(unique)
            t = s.items.c
            for i in range(0, len(keys), _CHUNK):
                found = conn.execute(
                    select(t.key, t.id, t.content_hash, t.points, t.comments, t.comments_url).where(
                        t.source_id == source_id, t.key.in_(keys[i : i + _CHUNK])
                    )
                )
                for r in found:
                    existing[r.key] = (r.id, r.content_hash)
                    talk[r.key] = (r.points, r.comments, r.comments_url)

            new = [e for k, e in unique.items() if k not in existing]
            changed = [
                (existing[k][0], e)
                for k, e in unique.items()
                if k in existing and existing[k][1] != e.content_hash
            ]
            refs: list[tuple[int, str, str]] = []
            new_ids: list[int] = []
            if new:
                rows = [
                    {
                        **_entry_values(e),
                        "source_id": source_id,
                        "key": e.key,
                        "first_seen_at": now,
                        "last_seen_at": now,
                    }
                    for e in new
                ]
                for item_id, e in zip(self._insert_items(conn, rows), new, strict=True):
                    new_ids.append(item_id)
                    refs += _refs(item_id, e)
            if changed:
                conn.execute(
                    update(s.items).where(s.items.c.id == bindparam("item_id")),
                    [{**_entry_values(e), "item_id": i, "last_seen_at": now} for i, e in changed],
                )
                conn.execute(
                    delete(s.item_refs).where(s.item_refs.c.item_id.in_([i for i, _ in changed]))
                )
                for i, e in changed:
                    refs += _refs(i, e)
            insert_plain_rows(conn, "item_refs", ("item_id", "kind", "ref"), refs)
            # Stories are kept as items arrive, in this transaction (see _stories.py).
            written = [*(zip(new_ids, new, strict=True)), *changed]
            self._join_stories(conn, source_id, written, now)  # type: ignore[attr-defined]
            moved = [
                (existing[k][0], e)
                for k, e in unique.items()
                if k in existing
                and existing[k][1] == e.content_hash
                and e.discussion is not None
                and _discussion(e) != talk[k]
            ]
            if moved:
                conn.execute(
                    update(s.items).where(s.items.c.id == bindparam("item_id")),
                    [
                        dict(
                            zip(("points", "comments", "comments_url"), _discussion(e), strict=True)
                        )
                        | {"item_id": i}
                        for i, e in moved
                    ],
                )
            self._record_fetch(conn, source_id, fetch, len(new))  # type: ignore[attr-defined]
        return StoreCounts(len(new), len(changed), len(unique) - len(new) - len(changed))

    def _insert_items(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """The new rows' ids, in the rows' order (their keys are distinct: one source)."""
        if self.dialect == "sqlite":
            returned = sqlite_insert_returning(conn, s.items, rows, ("id", "key"))
            found = {key: int(item_id) for item_id, key in returned}
            return [found[row["key"]] for row in rows]
        result = conn.execute(
            insert(s.items).returning(s.items.c.id, sort_by_parameter_order=True), rows
        )
        return [int(item_id) for (item_id,) in result.all()]

    # -- reading ---------------------------------------------------------------------------

    def _item_select(self, user_id: int | None = None) -> Any:
        """Items with their source's name: the user's name for it, when a user is given
        (and then only items of sources the user follows)."""
        refs = s.item_refs
        arxiv = (
            select(func.group_concat(refs.c.ref, " "))
            .where(refs.c.item_id == s.items.c.id, refs.c.kind == "arxiv")
            .scalar_subquery()
            if self.dialect == "sqlite"
            else select(func.string_agg(refs.c.ref, " "))
            .where(refs.c.item_id == s.items.c.id, refs.c.kind == "arxiv")
            .scalar_subquery()
        )
        joined = s.items.join(s.sources, s.sources.c.id == s.items.c.source_id)
        if user_id is None:
            name = func.coalesce(s.sources.c.title, s.sources.c.url)
        else:
            subs = s.subscriptions
            joined = joined.join(
                subs, (subs.c.source_id == s.items.c.source_id) & (subs.c.user_id == user_id)
            )
            name = func.coalesce(subs.c.name, s.sources.c.title, s.sources.c.url)
        return select(
            s.items,
            name.label("source_name"),
            s.sources.c.kind.label("source_kind"),
            arxiv.label("arxiv_refs"),
        ).select_from(joined)

    @staticmethod
    def _row_to_item(row: Row[Any]) -> Item:
        return Item(
            id=row.id,
            source_id=row.source_id,
            source_name=row.source_name,
            key=row.key,
            url=row.url,
            title=row.title,
            author=row.author,
            published_at=row.published_at,
            updated_at=row.updated_at,
            first_seen_at=row.first_seen_at,
            summary_html=row.summary_html,
            content_html=row.content_html,
            categories=loads_tuple(row.categories),
            arxiv_ids=tuple(sorted(row.arxiv_refs.split())) if row.arxiv_refs else (),
            source_kind=row.source_kind,
            points=row.points,
            comments=row.comments,
            comments_url=row.comments_url,
        )

    def list_items(
        self,
        *,
        limit: int = 20,
        source_id: int | None = None,
        since: datetime | None = None,
        arxiv_id: str | None = None,
        mentioning: Sequence[PaperId] = (),
        user_id: int | None = None,
    ) -> list[Item]:
        """The newest items (of the sources the user follows, of one source, since a time,
        naming a paper by any of the identifiers ``mentioning``), newest first.

        An item's date is its publication date.  An undated item takes the time it was first
        seen, but only when it arrived after its source's first fetch: then that time says
        when it appeared.  An undated item of the first fetch is old content of unknown age
        (a page's "FAQ" with a zero date): it has no date, sorts after the dated ones and is
        left out by ``since``.
        """
        t = s.items.c
        first = s.items.alias("first_fetch")
        first_fetch = (
            select(func.min(first.c.first_seen_at))
            .where(first.c.source_id == t.source_id)
            .scalar_subquery()
        )
        when = case(
            (t.published_at.is_not(None), t.published_at),
            (t.first_seen_at > first_fetch, t.first_seen_at),
            else_=None,
        )
        query = (
            self._item_select(user_id)
            .order_by(when.desc().nulls_last(), t.first_seen_at.desc(), t.id.desc())
            .limit(limit)
        )
        if source_id is not None:
            query = query.where(s.items.c.source_id == source_id)
        if since is not None:
            query = query.where(when >= since)
        keys = [*mentioning, *([PaperId("arxiv", arxiv_id)] if arxiv_id is not None else [])]
        if keys:
            refs = s.item_refs
            mentions = select(refs.c.item_id).where(
                tuple_(refs.c.kind, refs.c.ref).in_([tuple(k) for k in keys])
            )
            query = query.where(s.items.c.id.in_(mentions))
        with self.read() as conn:
            return [self._row_to_item(r) for r in conn.execute(query)]

    def get_item(self, item_id: int, *, user_id: int | None = None) -> Item | None:
        """An item (of a source the user follows, when a user is given)."""
        with self.read() as conn:
            row = conn.execute(self._item_select(user_id).where(s.items.c.id == item_id)).first()
        return None if row is None else self._row_to_item(row)

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        query_text: str,
        *,
        limit: int = 20,
        source_ids: Sequence[int] | None = None,
        since: datetime | None = None,
        kinds: Sequence[Literal["item", "paper"]] = ("item", "paper"),
        rank_limit: int | None = RANK_LIMIT,
        user_id: int | None = None,
    ) -> list[SearchHit]:
        """Full-text search over items (of the sources the user follows, when a user is
        given) and papers, best first.

        Scores of the two kinds come from the same ranking function with the same
        column weights, so merging them by score is meaningful.

        A query matching more than ``rank_limit`` items (or papers) ranks only the
        ``rank_limit`` most recently stored of them (those passing the filters): scoring
        every match of a very common word in a million papers takes seconds.  ``None``
        ranks every match.
        """
        query = parse_query(query_text)
        if rank_limit is not None:
            rank_limit = max(rank_limit, limit)
        hits: list[SearchHit] = []
        if "item" in kinds:
            hits += self._search_items(query, limit, source_ids, since, rank_limit, user_id)
        if "paper" in kinds and source_ids is None:
            hits += self._search_papers(query, limit, since, rank_limit)
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def _fts_rum(self) -> bool:
        """Whether both search tables carry the RUM index (PostgreSQL with the ``rum``
        extension, migration 0012): then search ranks inside it.  Looked up once."""
        if self.dialect == "sqlite":
            return False
        if self._rum is None:
            names = [postgres_rum_index(ITEMS_FTS), postgres_rum_index(PAPERS_FTS)]
            sql = text("SELECT count(*) FROM pg_indexes WHERE indexname IN :names")
            with self.read() as conn:
                found = conn.execute(
                    sql.bindparams(bindparam("names", expanding=True)), {"names": names}
                ).scalar_one()
            self._rum = found == len(names)
        return self._rum

    def _search_items(
        self,
        query: Query,
        limit: int,
        source_ids: Sequence[int] | None,
        since: datetime | None,
        rank_limit: int | None,
        user_id: int | None,
    ) -> list[SearchHit]:
        filters = []
        params: dict[str, Any] = {"limit": limit}
        name = "coalesce(src.title, src.url)"
        joins = "JOIN sources AS src ON src.id = t.source_id"
        if user_id is not None:
            filters.append(
                "t.source_id IN (SELECT source_id FROM subscriptions WHERE user_id = :user_id)"
            )
            joins += " LEFT JOIN subscriptions AS sub ON sub.source_id = t.source_id "
            joins += "AND sub.user_id = :user_id"
            name = "coalesce(sub.name, src.title, src.url)"
            params["user_id"] = user_id
        if source_ids is not None:
            filters.append("t.source_id IN :source_ids")
            params["source_ids"] = list(source_ids)
        if since is not None:
            filters.append("coalesce(t.published_at, t.first_seen_at) >= :since")
            params["since"] = s.UTCDateTime().process_bind_param(since, None)  # type: ignore[arg-type]
        found = fts_search(
            self.dialect,
            ITEMS_FTS,
            query,
            ITEM_WEIGHTS,
            columns=f"t.id, t.title, t.url, t.published_at, t.first_seen_at, {name} AS source_name",
            joins=joins,
            filters=filters,
            rank_limit=rank_limit,
            rum=self._fts_rum(),
        )
        sql = text(found.sql)
        if source_ids is not None:
            sql = sql.bindparams(bindparam("source_ids", expanding=True))
        conv = s.UTCDateTime()
        with self.read() as conn:
            rows = conn.execute(sql, {**found.params, **params}).all()
        return [
            SearchHit(
                kind="item",
                ref=str(r.id),
                title=r.title,
                url=r.url,
                snippet=r.snippet or "",
                score=float(r.score),
                source_name=r.source_name,
                date=conv.process_result_value(r.published_at or r.first_seen_at, None),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def _search_papers(
        self, query: Query, limit: int, since: datetime | None, rank_limit: int | None
    ) -> list[SearchHit]:
        filters = []
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            filters.append("t.first_version_at >= :since")
            params["since"] = since.date()
        found = fts_search(
            self.dialect,
            PAPERS_FTS,
            query,
            PAPER_WEIGHTS,
            columns="t.id, t.arxiv_id, t.url, t.title, t.first_version_at",
            filters=filters,
            rank_limit=rank_limit,
            rum=self._fts_rum(),
        )
        with self.read() as conn:
            rows = conn.execute(text(found.sql), {**found.params, **params}).all()
        out = []
        for r in rows:
            day = r.first_version_at
            if isinstance(day, str):
                day = datetime.fromisoformat(day)
            out.append(
                SearchHit(
                    kind="paper",
                    ref=r.arxiv_id or f"paper:{r.id}",
                    title=r.title,
                    url=f"https://arxiv.org/abs/{r.arxiv_id}" if r.arxiv_id else r.url,
                    snippet=r.snippet or "",
                    score=float(r.score),
                    source_name="arXiv" if r.arxiv_id else "paper",
                    date=None
                    if day is None
                    else datetime(day.year, day.month, day.day, tzinfo=UTC),
                )
            )
        return out

    # -- counts ----------------------------------------------------------------------------

    def stats(self, user_id: int | None = None) -> Stats:
        """Counts: of the user's sources, their items and tags when a user is given; of
        everything stored otherwise.  Papers are shared by all."""
        subs = s.subscriptions
        mine = select(subs.c.source_id)
        if user_id is not None:
            mine = mine.where(subs.c.user_id == user_id)
        with self.read() as conn:

            def count(q: Any) -> int:
                return int(conn.execute(q).scalar_one())

            tags = select(s.user_tags.c.tag).union(select(s.subscription_tags.c.tag))
            if user_id is not None:
                tags = (
                    select(s.user_tags.c.tag)
                    .where(s.user_tags.c.user_id == user_id)
                    .union(
                        select(s.subscription_tags.c.tag).where(
                            s.subscription_tags.c.user_id == user_id
                        )
                    )
                )
            linked = select(func.count(func.distinct(s.item_refs.c.item_id))).where(
                s.item_refs.c.kind == "arxiv"
            )
            if user_id is not None:
                linked = linked.where(
                    s.item_refs.c.item_id.in_(
                        select(s.items.c.id).where(s.items.c.source_id.in_(mine))
                    )
                )
            return Stats(
                sources=count(
                    select(func.count()).select_from(s.sources).where(s.sources.c.id.in_(mine))
                ),
                items=count(
                    select(func.count()).select_from(s.items).where(s.items.c.source_id.in_(mine))
                ),
                # All papers less the stubs: two small indexes, not every paper's row.
                papers=count(
                    select(
                        select(func.count()).select_from(s.papers).scalar_subquery()
                        - select(func.count())
                        .select_from(s.papers)
                        .where(s.papers.c.stub == true())
                        .scalar_subquery()
                    )
                ),
                tags=count(select(func.count()).select_from(tags.subquery())),
                items_linked_to_papers=count(linked),
                failing_sources=count(
                    select(func.count())
                    .select_from(s.sources)
                    .where(s.sources.c.consecutive_errors > 0, s.sources.c.id.in_(mine))
                ),
            )


__all__ = ["ItemsStorage", "utcnow"]
