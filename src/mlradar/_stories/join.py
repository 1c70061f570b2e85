"""Which story each new item joins, and which stories an item proves to be one.

:func:`plan_story_joins` is a pure decision over what storage hands in (a
:class:`StoryLookup` answering from inside the write transaction): it reads the stories
holding the items' keys, groups items and stories with a union-find, and returns the
writes as a :class:`~mlradar._model.StoryPlan`.  The work is proportional to the batch
(and the few candidate stories its keys find), never to what is stored: stories are kept
up to date as items arrive, not rebuilt.

Two stories about different arXiv papers are never merged, whatever bridges them (a post
linking both pages): each story names at most one paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from mlradar._model import ItemKeys, StoryHead, StoryInput, StoryMember, StoryPlan
from mlradar._stories.keys import item_keys, near_duplicates, title_rank

#: Members of one candidate story compared with a new item (the first ones stored).
MEMBERS_COMPARED = 8


class StoryLookup(Protocol):
    """What the join reads of stored stories (storage answers inside its transaction)."""

    def stories_by_key(self, keys: Sequence[str]) -> Mapping[str, int]:
        """The story holding each of ``keys`` (keys no story holds are absent)."""
        ...

    def heads(self, story_ids: Sequence[int]) -> Mapping[int, StoryHead]: ...

    def members(self, story_ids: Sequence[int], per_story: int) -> Sequence[StoryMember]:
        """Up to ``per_story`` stored items of each story, oldest first."""
        ...


class _Groups:
    """Union-find over stored stories (``("s", id)``) and batch items (``("i", index)``),
    refusing a union that would give one story two arXiv papers."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}
        self.arxiv: dict[tuple[str, int], str | None] = {}

    def add(self, node: tuple[str, int], arxiv_id: str | None) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.arxiv[node] = arxiv_id

    def find(self, node: tuple[str, int]) -> tuple[str, int]:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        pa, pb = self.arxiv[ra], self.arxiv[rb]
        if pa is not None and pb is not None and pa != pb:
            return False
        # A stored story stays the root, so that the kept story is a stored one.
        if ra[0] == "i" and rb[0] == "s":
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.arxiv[ra] = pa or pb
        return True


def _better(a: StoryHead, b: StoryHead) -> StoryHead:
    """Two heads of one story made one: the better title (and its URL), the wider span."""
    best = a if (a.title_rank, a.first_seen_at) <= (b.title_rank, b.first_seen_at) else b
    return StoryHead(
        id=a.id,
        title=best.title,
        title_rank=best.title_rank,
        url=best.url or a.url or b.url,
        arxiv_id=a.arxiv_id or b.arxiv_id,
        first_seen_at=min(a.first_seen_at, b.first_seen_at),
        last_seen_at=max(a.last_seen_at, b.last_seen_at),
    )


def _head_of(item: StoryInput, keys: ItemKeys) -> StoryHead:
    url = item.url or item.link
    if item.source_kind not in ("arxiv",) and keys.arxiv_id and not url:
        url = f"https://arxiv.org/abs/{keys.arxiv_id}"
    return StoryHead(
        id=0,
        title=item.title,
        title_rank=title_rank(item.source_kind, item.title),
        url=url,
        arxiv_id=keys.arxiv_id,
        first_seen_at=item.seen_at,
        last_seen_at=item.seen_at,
    )


def plan_story_joins(inputs: Sequence[StoryInput], lookup: StoryLookup) -> StoryPlan:
    """The story writes for a batch of new or changed items (see the module docstring)."""
    if not inputs:
        return StoryPlan()
    keyed = [i.keys if i.keys is not None else item_keys(i) for i in inputs]
    wanted = list(dict.fromkeys([k for ks in keyed for k in (*ks.paper, *ks.link, *ks.near)]))
    held = dict(lookup.stories_by_key(wanted))
    stored_ids = sorted(set(held.values()) | {i.story_id for i in inputs if i.story_id is not None})
    heads = dict(lookup.heads(stored_ids))

    groups = _Groups()
    for sid in stored_ids:
        groups.add(("s", sid), heads[sid].arxiv_id if sid in heads else None)
    for index, (item, keys) in enumerate(zip(inputs, keyed, strict=True)):
        groups.add(("i", index), keys.arxiv_id)
        if item.story_id is not None:
            groups.union(("s", item.story_id), ("i", index))

    # Exact keys, paper keys first (they decide which paper a story is), then links; an
    # earlier item of the batch holding the key counts as a story.
    first_in_batch: dict[str, int] = {}
    for kind in ("paper", "link"):
        for index, keys in enumerate(keyed):
            for key in getattr(keys, kind):
                if key in held:
                    groups.union(("s", held[key]), ("i", index))
                elif key in first_in_batch:
                    groups.union(("i", first_in_batch[key]), ("i", index))
                else:
                    first_in_batch[key] = index

    _join_near_duplicates(inputs, keyed, held, lookup, groups)

    # One story per group: the oldest stored story of it is kept, the others merge into it.
    components: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for node in list(groups.parent):
        components.setdefault(groups.find(node), []).append(node)
    new: list[StoryHead] = []
    changed: list[StoryHead] = []
    merges: list[tuple[int, int]] = []
    members: list[tuple[int, int]] = []
    target: dict[tuple[str, int], int] = {}
    for nodes in components.values():
        stored = sorted(n[1] for n in nodes if n[0] == "s")
        items = sorted(n[1] for n in nodes if n[0] == "i")
        if not items and len(stored) <= 1:
            continue
        parts = [heads[s] for s in stored if s in heads]
        parts += [_head_of(inputs[i], keyed[i]) for i in items]
        head = parts[0]
        for part in parts[1:]:
            head = _better(head, part)
        if stored:
            keep = stored[0]
            merges += [(other, keep) for other in stored[1:]]
            head = StoryHead(keep, *_fields(head))
            if keep not in heads or head != heads[keep]:
                changed.append(head)
        else:
            keep = -1 - len(new)
            new.append(StoryHead(keep, *_fields(head)))
        for i in items:
            target[("i", i)] = keep
            if inputs[i].story_id != keep:
                members.append((inputs[i].item_id, keep))

    keys_out: dict[str, int] = {}
    for index, keys in enumerate(keyed):
        for key in (*keys.paper, *keys.link, *keys.near):
            if key not in held:
                keys_out.setdefault(key, target[("i", index)])
    return StoryPlan(
        new=tuple(new),
        heads=tuple(changed),
        merges=tuple(merges),
        members=tuple(members),
        keys=tuple(keys_out.items()),
    )


def _fields(head: StoryHead) -> tuple[str | None, int, str | None, str | None, datetime, datetime]:
    return (
        head.title,
        head.title_rank,
        head.url,
        head.arxiv_id,
        head.first_seen_at,
        head.last_seen_at,
    )


def _join_near_duplicates(
    inputs: Sequence[StoryInput],
    keyed: Sequence[ItemKeys],
    held: Mapping[str, int],
    lookup: StoryLookup,
    groups: _Groups,
) -> None:
    """Join items to the stories (and to earlier items of the batch) that their near keys
    propose, where :func:`near_duplicates` confirms it and the sources differ."""
    proposed: dict[int, set[int]] = {}
    for index, keys in enumerate(keyed):
        # A story the item is in already (joined by an exact key) needs no comparison,
        # nor its members read: groups only grow, so it would be skipped below anyway.
        mine = groups.find(("i", index))
        found = {held[k] for k in keys.near if k in held}
        found = {sid for sid in found if groups.find(("s", sid)) != mine}
        if found:
            proposed[index] = found
    by_story: dict[int, list[StoryMember]] = {}
    wanted = sorted({s for found in proposed.values() for s in found})
    if wanted:
        for m in lookup.members(wanted, MEMBERS_COMPARED):
            by_story.setdefault(m.story_id, []).append(m)
    for index, found in proposed.items():
        item = inputs[index]
        for sid in sorted(found):
            if groups.find(("s", sid)) == groups.find(("i", index)):
                continue
            if any(
                m.source_id != item.source_id
                and near_duplicates(item.title, item.text, m.title, m.text)
                for m in by_story.get(sid, ())
            ):
                groups.union(("s", sid), ("i", index))

    seen: dict[str, list[int]] = {}
    for index, keys in enumerate(keyed):
        earlier = {j for k in keys.near for j in seen.get(k, ())}
        item = inputs[index]
        for j in sorted(earlier):
            other = inputs[j]
            if (
                other.source_id != item.source_id
                and groups.find(("i", j)) != groups.find(("i", index))
                and near_duplicates(item.title, item.text, other.title, other.text)
            ):
                groups.union(("i", j), ("i", index))
        for k in keys.near:
            seen.setdefault(k, []).append(index)


__all__ = ["MEMBERS_COMPARED", "StoryLookup", "plan_story_joins"]
