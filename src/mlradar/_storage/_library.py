"""The user's library: tags, reactions (like / dismiss), read state, per-user settings.

Everything is keyed by ``users.id``.  A reference is ``(kind, ref)``: ``("paper", paper
id as text)`` or ``("item", item id as text)``.  Also here: the reads the ranker needs
(papers in id order with their text, ids of papers in a window, discussion counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select

from mlradar._model import TextRow
from mlradar._storage import schema as s
from mlradar._storage._base import StorageBase, utcnow

Ref = tuple[str, str]

_CHUNK = 500


def _ref_filter(table: Any, refs: Sequence[Ref]) -> Any:
    return or_(*[and_(table.c.kind == k, table.c.ref == r) for k, r in refs])


class LibraryStorage(StorageBase):
    # -- tags ----------------------------------------------------------------------------------

    def add_tag(self, user_id: int, tag: str, refs: Sequence[Ref]) -> int:
        """Tag ``refs``; returns how many were not tagged ``tag`` already."""
        t = s.user_tags
        with self.begin() as conn:
            have = set(self._tagged(conn, user_id, tag))
            new = [r for r in dict.fromkeys(refs) if r not in have]
            if new:
                now = utcnow()
                conn.execute(
                    insert(t),
                    [
                        {"user_id": user_id, "tag": tag, "kind": k, "ref": r, "created_at": now}
                        for k, r in new
                    ],
                )
        return len(new)

    def remove_tag(self, user_id: int, tag: str, refs: Sequence[Ref] | None = None) -> int:
        """Untag ``refs`` (all of the tag's papers when None); returns how many were removed."""
        t = s.user_tags
        where = [t.c.user_id == user_id, t.c.tag == tag]
        removed = 0
        with self.begin() as conn:
            if refs is None:
                return int(conn.execute(delete(t).where(*where)).rowcount or 0)
            unique = list(dict.fromkeys(refs))
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                result = conn.execute(delete(t).where(*where, _ref_filter(t, chunk)))
                removed += int(result.rowcount or 0)
        return removed

    def _tagged(self, conn: Connection, user_id: int, tag: str) -> list[Ref]:
        t = s.user_tags
        rows = conn.execute(
            select(t.c.kind, t.c.ref)
            .where(t.c.user_id == user_id, t.c.tag == tag)
            .order_by(t.c.created_at, t.c.kind, t.c.ref)
        )
        return [(r.kind, r.ref) for r in rows]

    def tagged(self, user_id: int, tag: str | None = None) -> list[tuple[str, str, str]]:
        """``(tag, kind, ref)`` rows of one tag, or of every tag, oldest first."""
        t = s.user_tags
        query = select(t.c.tag, t.c.kind, t.c.ref).where(t.c.user_id == user_id)
        if tag is not None:
            query = query.where(t.c.tag == tag)
        with self.read() as conn:
            rows = conn.execute(query.order_by(t.c.tag, t.c.created_at, t.c.kind, t.c.ref))
            return [(r.tag, r.kind, r.ref) for r in rows]

    def tag_counts(self, user_id: int) -> list[tuple[str, int]]:
        t = s.user_tags
        with self.read() as conn:
            rows = conn.execute(
                select(t.c.tag, func.count())
                .where(t.c.user_id == user_id)
                .group_by(t.c.tag)
                .order_by(t.c.tag)
            )
            return [(str(tag), int(n)) for tag, n in rows]

    # -- reactions and reads ---------------------------------------------------------------------

    def _replace_refs(
        self, table: Any, user_id: int, refs: Sequence[Ref], values: dict[str, Any] | None
    ) -> None:
        """Delete the user's rows for ``refs``, then (unless ``values`` is None) insert new ones."""
        unique = list(dict.fromkeys(refs))
        with self.begin() as conn:
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                conn.execute(
                    delete(table).where(table.c.user_id == user_id, _ref_filter(table, chunk))
                )
            if values is not None and unique:
                rows = [{"user_id": user_id, "kind": k, "ref": r, **values} for k, r in unique]
                conn.execute(insert(table), rows)

    def set_reaction(self, user_id: int, refs: Sequence[Ref], reaction: str | None) -> None:
        """Set (or with None clear) the reaction to each of ``refs``: the last one wins."""
        values = None if reaction is None else {"reaction": reaction, "created_at": utcnow()}
        self._replace_refs(s.user_reactions, user_id, refs, values)

    def reactions(self, user_id: int, reaction: str | None = None) -> list[tuple[str, str, str]]:
        """``(kind, ref, reaction)`` of the user's reactions, oldest first."""
        t = s.user_reactions
        query = select(t.c.kind, t.c.ref, t.c.reaction).where(t.c.user_id == user_id)
        if reaction is not None:
            query = query.where(t.c.reaction == reaction)
        with self.read() as conn:
            rows = conn.execute(query.order_by(t.c.created_at, t.c.kind, t.c.ref))
            return [(r.kind, r.ref, r.reaction) for r in rows]

    def set_read(self, user_id: int, refs: Sequence[Ref], read: bool = True) -> None:
        values = {"read_at": utcnow()} if read else None
        self._replace_refs(s.user_reads, user_id, refs, values)

    def read_refs(self, user_id: int) -> set[Ref]:
        t = s.user_reads
        with self.read() as conn:
            rows = conn.execute(select(t.c.kind, t.c.ref).where(t.c.user_id == user_id))
            return {(r.kind, r.ref) for r in rows}

    # -- what the ranker reads -------------------------------------------------------------------

    def item_exists(self, item_id: int) -> bool:
        with self.read() as conn:
            return (
                conn.execute(select(s.items.c.id).where(s.items.c.id == item_id)).first()
                is not None
            )

    def _select_in(
        self, column: Any, values: Sequence[Any], build: Callable[[Any], Any]
    ) -> list[Row[Any]]:
        """Rows of ``build(column.in_(chunk))`` over ``values`` in bounded chunks."""
        out: list[Row[Any]] = []
        with self.read() as conn:
            for i in range(0, len(values), _CHUNK):
                out += conn.execute(build(column.in_(values[i : i + _CHUNK]))).all()
        return out

    def arxiv_ids_of_items(self, item_ids: Sequence[int]) -> dict[int, list[str]]:
        """The arXiv ids each item names (the same paper seen through a feed or a story)."""
        refs = s.item_refs
        out: dict[int, list[str]] = {}
        rows = self._select_in(
            refs.c.item_id,
            item_ids,
            lambda cond: (
                select(refs.c.item_id, refs.c.ref)
                .where(refs.c.kind == "arxiv", cond)
                .order_by(refs.c.item_id, refs.c.ref)
            ),
        )
        for r in rows:
            out.setdefault(int(r.item_id), []).append(str(r.ref))
        return out

    def paper_db_ids(self, arxiv_ids: Sequence[str]) -> dict[str, int]:
        """Database ids of the stored papers among ``arxiv_ids``."""
        p = s.papers
        rows = self._select_in(
            p.c.arxiv_id, arxiv_ids, lambda c: select(p.c.arxiv_id, p.c.id).where(c)
        )
        return {str(r.arxiv_id): int(r.id) for r in rows}

    def papers_by_db_ids(self, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """``id -> (arXiv id, or paper:<id> for a paper off arXiv; title)`` for the given
        database ids."""
        p = s.papers
        rows = self._select_in(
            p.c.id, ids, lambda c: select(p.c.id, p.c.arxiv_id, p.c.title).where(c)
        )
        return {int(r.id): (str(r.arxiv_id or f"paper:{r.id}"), str(r.title)) for r in rows}

    def items_brief(self, item_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """``id -> (title, url)`` of the given items."""
        t = s.items
        rows = self._select_in(
            t.c.id, item_ids, lambda c: select(t.c.id, t.c.title, t.c.url).where(c)
        )
        return {int(r.id): (str(r.title or ""), r.url) for r in rows}

    def items_naming(self, arxiv_ids: Sequence[str]) -> dict[str, int]:
        """For each paper, the newest item that names it (for ``Recommendation.item_id``)."""
        return self._per_paper(arxiv_ids, func.max(s.item_refs.c.item_id))

    def _per_paper(self, arxiv_ids: Sequence[str], aggregate: Any) -> dict[str, int]:
        refs = s.item_refs
        rows = self._select_in(
            refs.c.ref,
            arxiv_ids,
            lambda c: (
                select(refs.c.ref, aggregate.label("value"))
                .where(refs.c.kind == "arxiv", c)
                .group_by(refs.c.ref)
            ),
        )
        return {str(r.ref): int(r.value) for r in rows}

    def mention_rows(
        self, paper_ids: Sequence[int], user_id: int | None = None
    ) -> list[tuple[int, int, int, str, str, str]]:
        """``(paper id, item id, source id, source kind, source url, source name)`` of every
        stored item naming one of the papers (by database id): who discusses them, where.

        A source is named as the user calls it, when a user who follows it is given.
        """
        refs, items, src, subs = s.item_refs, s.items, s.sources, s.subscriptions
        # Two steps, not one join from papers: SQLite would drive such a join from every
        # arXiv reference of every item instead of from the few papers asked about.
        id_of = {arxiv_id: i for i, (arxiv_id, _t) in self.papers_by_db_ids(paper_ids).items()}
        name = func.coalesce(subs.c.name, src.c.title, src.c.url).label("name")
        mine = and_(subs.c.source_id == src.c.id, subs.c.user_id == (user_id or -1))
        rows = self._select_in(
            refs.c.ref,
            list(id_of),
            lambda c: (
                select(refs.c.ref, refs.c.item_id, items.c.source_id, src.c.kind, src.c.url, name)
                .join(items, items.c.id == refs.c.item_id)
                .join(src, src.c.id == items.c.source_id)
                .outerjoin(subs, mine)
                .where(refs.c.kind == "arxiv", c)
            ),
        )
        out = [
            (
                id_of[str(r.ref)],
                int(r.item_id),
                int(r.source_id),
                str(r.kind),
                str(r.url),
                str(r.name),
            )
            for r in rows
        ]
        return sorted(out)

    # -- texts for the ranking index -------------------------------------------------------------

    def _iter_texts(
        self, table: Any, after_id: int, batch: int, convert: Callable[[Row[Any]], TextRow]
    ) -> Iterator[list[TextRow]]:
        """Keyset-paginated batches of ``table`` rows with id > ``after_id``, ascending."""
        columns = _TEXT_COLUMNS[table.name]
        last = after_id
        while True:
            with self.read() as conn:
                rows = conn.execute(
                    select(*columns)
                    .where(table.c.id > last, *_TEXT_FILTERS.get(table.name, ()))
                    .order_by(table.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            yield [convert(r) for r in rows]
            last = int(rows[-1].id)

    def _texts_by_id(
        self, table: Any, ids: Sequence[int], convert: Callable[[Row[Any]], TextRow]
    ) -> list[TextRow]:
        columns = _TEXT_COLUMNS[table.name]
        extra = _TEXT_FILTERS.get(table.name, ())
        rows = self._select_in(table.c.id, list(ids), lambda c: select(*columns).where(c, *extra))
        return sorted((convert(r) for r in rows), key=lambda t: t[0])

    def _iter_changed(
        self,
        table: Any,
        stamp: Any,
        since: datetime,
        up_to_id: int,
        batch: int,
        convert: Callable[[Row[Any]], TextRow],
    ) -> Iterator[list[TextRow]]:
        # Ids first, by the stamp's index alone: with "id <= n" in the same query a planner
        # may prefer the primary key's range, which is every row.
        with self.read() as conn:
            found = conn.execute(select(table.c.id).where(stamp >= since)).scalars().all()
        ids = sorted(int(i) for i in found if int(i) <= up_to_id)
        for i in range(0, len(ids), batch):
            yield self._texts_by_id(table, ids[i : i + batch], convert)

    def iter_paper_texts(self, after_id: int, batch: int = 2000) -> Iterator[list[TextRow]]:
        """Batches of ``(id, title, abstract, listing day, authors)`` with id > ``after_id``,
        ascending."""
        return self._iter_texts(s.papers, after_id, batch, _paper_text)

    def paper_texts(self, ids: Sequence[int]) -> list[TextRow]:
        """``(id, title, abstract, listing day, authors)`` of the stored papers among ``ids``."""
        return self._texts_by_id(s.papers, ids, _paper_text)

    def paper_authors(self, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """Author names of the stored papers among ``ids`` (by database id), in order."""
        p = s.papers
        rows = self._select_in(p.c.id, list(ids), lambda c: select(p.c.id, p.c.authors).where(c))
        return {int(r.id): _author_list(r.authors) for r in rows}

    def item_authors(self, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """The author of each stored item among ``ids`` (one name, or none)."""
        t = s.items
        rows = self._select_in(t.c.id, list(ids), lambda c: select(t.c.id, t.c.author).where(c))
        return {int(r.id): _item_author(r.author) for r in rows}

    def iter_changed_paper_texts(
        self, since: datetime, up_to_id: int, batch: int = 2000
    ) -> Iterator[list[TextRow]]:
        """Texts of papers with id <= ``up_to_id`` stored or changed at ``since`` or later."""
        return self._iter_changed(
            s.papers, s.papers.c.stored_at, since, up_to_id, batch, _paper_text
        )

    def iter_item_texts(self, after_id: int, batch: int = 2000) -> Iterator[list[TextRow]]:
        """Batches of ``(id, title, plain text, day, author)`` of items with id > ``after_id``."""
        return self._iter_texts(s.items, after_id, batch, _item_text)

    def item_texts(self, ids: Sequence[int]) -> list[TextRow]:
        """``(id, title, plain text, day, author)`` of the stored items among ``ids``."""
        return self._texts_by_id(s.items, ids, _item_text)

    def iter_changed_item_texts(
        self, since: datetime, up_to_id: int, batch: int = 2000
    ) -> Iterator[list[TextRow]]:
        """Texts of items with id <= ``up_to_id`` stored or changed at ``since`` or later."""
        return self._iter_changed(
            s.items, s.items.c.last_seen_at, since, up_to_id, batch, _item_text
        )


_TEXT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "papers": (
        s.papers.c.id,
        s.papers.c.title,
        s.papers.c.abstract,
        s.papers.c.first_version_at,
        s.papers.c.stored_at,
        s.papers.c.authors,
    ),
    "items": (
        s.items.c.id,
        s.items.c.title,
        s.items.c.text,
        s.items.c.published_at,
        s.items.c.first_seen_at,
        s.items.c.author,
    ),
}


#: Rows the ranking index never reads: a stub paper has no text to featurize (it is read
#: once its record arrives, which stamps it as changed).
_TEXT_FILTERS: dict[str, tuple[Any, ...]] = {"papers": (s.papers.c.stub.is_(False),)}


def _author_list(raw: str | None) -> tuple[str, ...]:
    """``papers.authors`` (a JSON list of names) as a tuple; unreadable means none."""
    if not raw:
        return ()
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ()
    return tuple(str(n) for n in names) if isinstance(names, list) else ()


def _item_author(raw: str | None) -> tuple[str, ...]:
    name = " ".join(str(raw or "").split())
    return (name,) if name else ()


def _paper_text(r: Row[Any]) -> TextRow:
    day = r.first_version_at
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    if day is None and isinstance(r.stored_at, datetime):
        day = r.stored_at.date()
    return TextRow(
        int(r.id), str(r.title or ""), str(r.abstract or ""), day, _author_list(r.authors)
    )


def _item_text(r: Row[Any]) -> TextRow:
    when = r.published_at or r.first_seen_at
    # Item text can be a whole article: its opening says what it is about.
    body = str(r.text or "")[:4000]
    return TextRow(
        int(r.id), str(r.title or ""), body, when.date() if when else None, _item_author(r.author)
    )


__all__ = ["LibraryStorage", "Ref", "TextRow"]
