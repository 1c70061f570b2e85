"""Stories: the join's lookups and writes, inside the item write's transaction; listings.

Which story an item joins is decided by the domain (:mod:`mlradar._stories`), handed in as
:attr:`StoriesStorage.story_decider` by the facade: this module answers the decider's
lookups from inside the transaction that stores the items, and writes the plan it gets
back, so items and their stories commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    distinct,
    exists,
    func,
    insert,
    select,
    update,
)

from mlradar._model import ParsedEntry, StoryHead, StoryInput, StoryMember, StoryPlan
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, insert_plain_rows, sqlite_insert_returning
from mlradar._storage._papers import _chunks
from mlradar.types import Mention, Story

#: Decides the story writes of a batch (see mlradar._stories.plan_story_joins); the second
#: argument answers its lookups.
StoryDecider = Callable[[Sequence[StoryInput], Any], StoryPlan]

#: The state entry migration 0007 leaves when existing items still need their stories.
BACKFILL_KEY = "stories.backfill"
#: Characters of an item's text the near-duplicate check reads.
_TEXT_CHARS = 1200
#: Mentions listed per story.
MENTIONS_PER_STORY = 100


def _head(row: Row[Any]) -> StoryHead:
    return StoryHead(
        id=int(row.id),
        title=row.title,
        title_rank=int(row.title_rank),
        url=row.url,
        arxiv_id=row.arxiv_id,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
    )


class _Lookup:
    """The decider's view of stored stories, through the write transaction's connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def stories_by_key(self, keys: Sequence[str]) -> Mapping[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(keys):
            # The driver's own placeholders: a batch looks up ~9,000 keys, and compiling
            # an expanding IN for each chunk cost more than the lookups.
            marks = ",".join([self._mark] * len(chunk))
            rows = self._conn.exec_driver_sql(
                f"SELECT key, story_id FROM story_keys WHERE key IN ({marks})", tuple(chunk)
            )
            out.update({str(key): int(story) for key, story in rows})
        return out

    def heads(self, story_ids: Sequence[int]) -> Mapping[int, StoryHead]:
        out: dict[int, StoryHead] = {}
        for chunk in _chunks(story_ids):
            rows = self._conn.execute(select(s.stories).where(s.stories.c.id.in_(chunk)))
            out.update({int(r.id): _head(r) for r in rows})
        return out

    def members(self, story_ids: Sequence[int], per_story: int) -> Sequence[StoryMember]:
        si, i = s.story_items.c, s.items.c
        out: list[StoryMember] = []
        for chunk in _chunks(story_ids):
            place = func.row_number().over(partition_by=si.story_id, order_by=si.item_id).label("n")
            ranked = (
                select(
                    si.story_id,
                    si.item_id,
                    i.source_id,
                    i.title,
                    func.substr(func.coalesce(i.text, ""), 1, _TEXT_CHARS).label("opening"),
                    place,
                )
                .select_from(s.story_items.join(s.items, s.items.c.id == si.item_id))
                .where(si.story_id.in_(chunk))
                .subquery()
            )
            rows = self._conn.execute(select(ranked).where(ranked.c.n <= per_story))
            out += [
                StoryMember(int(r.story_id), int(r.item_id), int(r.source_id), r.title, r.opening)
                for r in rows
            ]
        return out


def _apply(conn: Connection, plan: StoryPlan) -> None:
    ids: dict[int, int] = {}
    if plan.new and conn.dialect.name == "sqlite":
        # The ids SQLite would give (max + 1 on: no AUTOINCREMENT), given here so the rows
        # go in as multi-row statements (see sqlite_insert_returning).  An item write holds
        # the write lock by now; otherwise an id another writer took meanwhile fails the
        # INSERT (a key conflict, or SQLite's stale snapshot), never joins two stories.
        top = int(conn.execute(select(func.coalesce(func.max(s.stories.c.id), 0))).scalar_one())
        ids = {h.id: top + 1 + n for n, h in enumerate(plan.new)}
        sqlite_insert_returning(
            conn, s.stories, [{"id": ids[h.id], **_head_values(h)} for h in plan.new]
        )
    elif plan.new:
        result = conn.execute(
            insert(s.stories).returning(s.stories.c.id, sort_by_parameter_order=True),
            [_head_values(h) for h in plan.new],
        )
        ids = {h.id: int(new_id) for (new_id,), h in zip(result.all(), plan.new, strict=True)}

    def real(story_id: int) -> int:
        return ids[story_id] if story_id < 0 else story_id

    for gone, kept in plan.merges:
        conn.execute(
            update(s.story_items).where(s.story_items.c.story_id == gone).values(story_id=kept)
        )
        conn.execute(
            update(s.story_keys).where(s.story_keys.c.story_id == gone).values(story_id=kept)
        )
        conn.execute(delete(s.stories).where(s.stories.c.id == gone))
    if plan.heads:
        conn.execute(
            update(s.stories).where(s.stories.c.id == bindparam("story_id")),
            [{**_head_values(h), "story_id": h.id} for h in plan.heads],
        )
    if plan.members:
        moved = [item_id for item_id, _ in plan.members]
        for chunk in _chunks(moved):
            conn.execute(delete(s.story_items).where(s.story_items.c.item_id.in_(chunk)))
        _insert_pairs(conn, "story_items", ("item_id", "story_id"), plan.members, real)
    if plan.keys:
        _insert_pairs(conn, "story_keys", ("key", "story_id"), plan.keys, real)


def _insert_pairs(
    conn: Connection,
    table: str,
    columns: tuple[str, str],
    rows: Sequence[tuple[Any, int]],
    real: Callable[[int], int],
) -> None:
    """Rows of (a plain value, a story id): an item brings about eight keys."""
    insert_plain_rows(conn, table, columns, [(value, real(sid)) for value, sid in rows])


def _head_values(h: StoryHead) -> dict[str, Any]:
    return {
        "title": h.title,
        "title_rank": h.title_rank,
        "url": h.url,
        "arxiv_id": h.arxiv_id,
        "first_seen_at": h.first_seen_at,
        "last_seen_at": h.last_seen_at,
    }


class StoriesStorage(StorageBase):
    #: Set by the facade (storage imports no domain package); None: stories are not kept.
    story_decider: StoryDecider | None = None

    # -- the join, inside the item write ------------------------------------------------------

    def _join_stories(
        self,
        conn: Connection,
        source_id: int,
        written: Sequence[tuple[int, ParsedEntry]],
        now: datetime,
    ) -> None:
        """Join the items just written (new or changed) to their stories."""
        decide = self.story_decider
        if decide is None or not written:
            return
        kind = conn.execute(
            select(s.sources.c.kind).where(s.sources.c.id == source_id)
        ).scalar_one()
        current: dict[int, int] = {}
        for chunk in _chunks([i for i, _ in written]):
            rows = conn.execute(
                select(s.story_items.c.item_id, s.story_items.c.story_id).where(
                    s.story_items.c.item_id.in_(chunk)
                )
            )
            current.update({int(r.item_id): int(r.story_id) for r in rows})
        inputs = [
            StoryInput(
                item_id=item_id,
                source_id=source_id,
                source_kind=str(kind),
                title=e.title,
                text=e.text[:_TEXT_CHARS],
                url=e.url,
                link=e.link,
                seen_at=e.published_at or now,
                arxiv_ids=e.arxiv_ids,
                dois=e.dois,
                refs=e.refs,
                links=e.links,
                discussed=e.discussion is not None,
                story_id=current.get(item_id),
                keys=e.story_keys,
            )
            for item_id, e in written
        ]
        _apply(conn, decide(inputs, _Lookup(conn)))

    # -- the backfill migration 0007 triggers -------------------------------------------------

    def stories_need_backfill(self) -> bool:
        return self.get_state(BACKFILL_KEY) is not None

    def backfill_stories(self, batch: int = 1000) -> int:
        """Join up to ``batch`` stored items that are in no story yet (oldest first), in
        one transaction; clears the backfill mark when none is left.  Returns how many
        were joined: call again until 0 (an interrupted backfill resumes where it was)."""
        decide = self.story_decider
        if decide is None:
            return 0
        i, src = s.items.c, s.sources.c
        with self.begin() as conn:
            orphan = ~exists().where(s.story_items.c.item_id == i.id)
            rows = conn.execute(
                select(
                    i.id,
                    i.source_id,
                    src.kind,
                    i.title,
                    func.substr(func.coalesce(i.text, ""), 1, _TEXT_CHARS).label("opening"),
                    i.url,
                    i.link,
                    func.coalesce(i.published_at, i.first_seen_at).label("seen"),
                    i.first_seen_at,
                    i.published_at,
                    i.points,
                    i.comments,
                )
                .select_from(s.items.join(s.sources, src.id == i.source_id))
                .where(orphan)
                .order_by(i.id)
                .limit(batch)
            ).all()
            if not rows:
                self.set_state(BACKFILL_KEY, None, conn)
                return 0
            refs: dict[int, list[tuple[str, str]]] = {}
            for chunk in _chunks([int(r.id) for r in rows]):
                for ref in conn.execute(
                    select(s.item_refs).where(s.item_refs.c.item_id.in_(chunk))
                ):
                    refs.setdefault(int(ref.item_id), []).append((ref.kind, ref.ref))
            inputs = []
            for r in rows:
                named = refs.get(int(r.id), [])
                inputs.append(
                    StoryInput(
                        item_id=int(r.id),
                        source_id=int(r.source_id),
                        source_kind=str(r.kind),
                        title=r.title,
                        text=r.opening,
                        url=r.url,
                        link=r.link,
                        seen_at=r.published_at or r.first_seen_at,
                        arxiv_ids=tuple(v for k, v in named if k == "arxiv"),
                        dois=tuple(v for k, v in named if k == "doi"),
                        refs=tuple((k, v) for k, v in named if k not in ("arxiv", "doi", "link")),
                        links=tuple(v for k, v in named if k == "link"),
                        discussed=r.points is not None or r.comments is not None,
                    )
                )
            _apply(conn, decide(inputs, _Lookup(conn)))
        return len(rows)

    # -- reading ------------------------------------------------------------------------------

    def story_of(
        self, *, user_id: int | None, item_id: int | None = None, arxiv_id: str | None = None
    ) -> int | None:
        """The story ``item_id`` is in, or the newest story about ``arxiv_id``, when one of
        its items is in the user's sources (any user's when ``user_id`` is None)."""
        si, i, st = s.story_items.c, s.items.c, s.stories.c
        joined = s.story_items.join(s.items, i.id == si.item_id).join(
            s.stories, st.id == si.story_id
        )
        if user_id is not None:
            subs = s.subscriptions
            joined = joined.join(
                subs, (subs.c.source_id == i.source_id) & (subs.c.user_id == user_id)
            )
        query = select(si.story_id).select_from(joined)
        if item_id is not None:
            query = query.where(si.item_id == item_id)
        if arxiv_id is not None:
            query = query.where(st.arxiv_id == arxiv_id)
        query = query.order_by(st.last_seen_at.desc(), st.id.desc()).limit(1)
        with self.read() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def list_stories(
        self,
        *,
        user_id: int | None = None,
        since: datetime | None = None,
        sort: Literal["new", "discussed"] = "new",
        source_id: int | None = None,
        limit: int = 20,
        story_id: int | None = None,
        arxiv_id: str | None = None,
    ) -> list[Story]:
        """Stories with a mention in the user's sources (in ``source_id``, last seen since
        ``since``), newest last-seen first, or most discussed first: summed points and
        comments, then independent sources."""
        si, i = s.story_items.c, s.items.c
        joined = s.story_items.join(s.items, s.items.c.id == si.item_id)
        if user_id is not None:
            subs = s.subscriptions
            joined = joined.join(
                subs, (subs.c.source_id == i.source_id) & (subs.c.user_id == user_id)
            )
        points = func.coalesce(func.sum(i.points), 0).label("points")
        comments = func.coalesce(func.sum(i.comments), 0).label("comments")
        places = func.count(distinct(i.source_id)).label("places")
        agg = select(si.story_id, points, comments, places).select_from(joined)
        if source_id is not None:
            agg = agg.where(
                si.story_id.in_(
                    select(si.story_id)
                    .select_from(s.story_items.join(s.items, s.items.c.id == si.item_id))
                    .where(i.source_id == source_id)
                )
            )
        if story_id is not None:
            agg = agg.where(si.story_id == story_id)
        st = s.stories.c
        if sort == "new" and story_id is None:
            # Newest first needs no global sums: walk the stories by last seen (indexed)
            # and keep the first ones with a mention the filters allow; sum only those.
            mine = select(si.story_id).select_from(joined).where(si.story_id == st.id)
            if source_id is not None:
                mine = mine.where(i.source_id == source_id)
            newest = select(st.id).where(mine.exists())
            if since is not None:
                newest = newest.where(st.last_seen_at >= since)
            if arxiv_id is not None:
                newest = newest.where(st.arxiv_id == arxiv_id)
            newest = newest.order_by(st.last_seen_at.desc(), st.id.desc()).limit(limit)
            agg = agg.where(si.story_id.in_(newest.scalar_subquery()))
        sub = agg.group_by(si.story_id).subquery()
        # The paper's own title, when the story is about a stored paper.
        title = func.coalesce(s.papers.c.title, st.title).label("best_title")
        query = select(s.stories, title, sub.c.points, sub.c.comments, sub.c.places).select_from(
            s.stories.join(sub, sub.c.story_id == st.id).outerjoin(
                s.papers, s.papers.c.arxiv_id == st.arxiv_id
            )
        )
        if since is not None:
            query = query.where(st.last_seen_at >= since)
        if arxiv_id is not None:
            query = query.where(st.arxiv_id == arxiv_id)
        if sort == "discussed":
            query = query.order_by(
                (sub.c.points + sub.c.comments).desc(), sub.c.places.desc(), st.id.desc()
            )
        else:
            query = query.order_by(st.last_seen_at.desc(), st.id.desc())
        with self.read() as conn:
            rows = conn.execute(query.limit(limit)).all()
            mentions = self._mentions(conn, [int(r.id) for r in rows], user_id)
        return [
            Story(
                id=int(r.id),
                title=r.best_title,
                url=r.url,
                arxiv_id=r.arxiv_id,
                first_seen=r.first_seen_at,
                last_seen=r.last_seen_at,
                sources=int(r.places),
                points=int(r.points),
                comments=int(r.comments),
                mentions=tuple(mentions.get(int(r.id), ())),
            )
            for r in rows
        ]

    def _mentions(
        self, conn: Connection, story_ids: Sequence[int], user_id: int | None
    ) -> dict[int, list[Mention]]:
        si, i, src = s.story_items.c, s.items.c, s.sources.c
        joined = s.story_items.join(s.items, s.items.c.id == si.item_id).join(
            s.sources, src.id == i.source_id
        )
        if user_id is None:
            name = func.coalesce(src.title, src.url)
        else:
            subs = s.subscriptions
            joined = joined.join(
                subs, (subs.c.source_id == i.source_id) & (subs.c.user_id == user_id)
            )
            name = func.coalesce(subs.c.name, src.title, src.url)
        when = func.coalesce(i.published_at, i.first_seen_at)
        out: dict[int, list[Mention]] = {}
        for chunk in _chunks(story_ids):
            rows = conn.execute(
                select(
                    si.story_id,
                    i.id,
                    i.source_id,
                    i.url,
                    i.title,
                    i.published_at,
                    i.first_seen_at,
                    i.points,
                    i.comments,
                    i.comments_url,
                    name.label("source_name"),
                    src.kind,
                )
                .select_from(joined)
                .where(si.story_id.in_(chunk))
                .order_by(si.story_id, when, i.id)
            )
            for r in rows:
                found = out.setdefault(int(r.story_id), [])
                if len(found) < MENTIONS_PER_STORY:
                    found.append(
                        Mention(
                            source=str(r.source_name),
                            kind=str(r.kind),
                            url=r.url,
                            title=r.title,
                            published=r.published_at or r.first_seen_at,
                            points=r.points,
                            comments=r.comments,
                            comments_url=r.comments_url,
                            item_id=int(r.id),
                            source_id=int(r.source_id),
                        )
                    )
        return out

    def story_mention_rows(
        self, paper_ids: Sequence[int], user_id: int | None = None
    ) -> list[tuple[int, int, int, str, str, str, int | None, int | None]]:
        """``(paper id, item id, source id, source kind, source url, source name, points,
        comments)`` of every item in the stories of the papers (by database id): the rows
        of :meth:`mention_rows` that the stories know, with their discussion."""
        si, i, st, src, p = s.story_items.c, s.items.c, s.stories.c, s.sources.c, s.papers.c
        joined = (
            s.papers.join(s.stories, st.arxiv_id == p.arxiv_id)
            .join(s.story_items, si.story_id == st.id)
            .join(s.items, i.id == si.item_id)
            .join(s.sources, src.id == i.source_id)
        )
        # Like mention_rows: every source counts, named as the user calls it.
        subs = s.subscriptions
        joined = joined.outerjoin(
            subs, (subs.c.source_id == i.source_id) & (subs.c.user_id == (user_id or -1))
        )
        name = func.coalesce(subs.c.name, src.title, src.url)
        out = []
        with self.read() as conn:
            for chunk in _chunks(paper_ids):
                rows = conn.execute(
                    select(
                        p.id,
                        i.id.label("item_id"),
                        i.source_id,
                        src.kind,
                        src.url,
                        name.label("name"),
                        i.points,
                        i.comments,
                    )
                    .select_from(joined)
                    .where(p.id.in_(chunk))
                )
                out += [
                    (
                        int(r.id),
                        int(r.item_id),
                        int(r.source_id),
                        str(r.kind),
                        str(r.url),
                        str(r.name),
                        r.points,
                        r.comments,
                    )
                    for r in rows
                ]
        return sorted(out, key=lambda r: r[:2])


__all__ = ["BACKFILL_KEY", "StoriesStorage", "StoryDecider"]
