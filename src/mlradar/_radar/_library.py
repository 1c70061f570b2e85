"""The user's library: tags, likes, dismissals and read state.

What is learned from the library lives beside this mixin: recommendations and related
papers in :mod:`._recommend`, the semantic half of search in :mod:`._semantic`, and the
ranking index they read in :mod:`._index`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mlradar._papers import parse_paper_ref
from mlradar._radar._index import IndexMixin
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import LibraryEntry, TagSummary

if TYPE_CHECKING:
    from mlradar._storage._library import Ref

#: Most recommendations or related papers one call returns.
MAX_LIMIT = 1000


def _check_tag(tag: str) -> str:
    tag = tag.strip()
    if not tag or len(tag) > 200 or any(c.isspace() for c in tag) or tag.startswith("-"):
        raise InvalidInputError(f"{tag!r} is not a tag: use 1-200 characters without spaces")
    return tag


def check_user_name(name: str) -> str:
    """A user's name: 1-100 letters, digits and ``. _ - @``."""
    name = name.strip()
    if not 1 <= len(name) <= 100 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InvalidInputError(
            f"{name!r} is not a user name: use 1-100 letters, digits and . _ - @"
        )
    return name


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _ref_label(ref: Ref, labels: Mapping[Ref, str] | None = None) -> str:
    """How a reference is shown: a paper by its arXiv id (or ``scheme:value``, from
    ``labels``: see :meth:`LibraryMixin._labels`), an item as ``item:<id>``."""
    if labels is not None and ref in labels:
        return labels[ref]
    return f"paper:{ref[1]}" if ref[0] == "paper" else f"item:{ref[1]}"


class LibraryMixin(IndexMixin):
    # -- references -----------------------------------------------------------------------------

    def _resolve(self, ident: str) -> Ref:
        """A paper (an arXiv id in any usual spelling, ``doi:``, ``openreview:``...,
        ``paper:<id>``) or an item id (digits, or ``item:<id>``).

        A paper named by an identifier nothing is stored under yet is recorded as a stub,
        so that tagging a paper before importing it keeps the tag.
        """
        text = str(ident).strip()
        bare = text.removeprefix("item:")
        if bare.isdigit():
            if not self._storage.item_exists(int(bare)):
                raise NotFoundError(f"no item with id {bare}")
            return ("item", str(int(bare)))
        key = parse_paper_ref(text)
        if isinstance(key, int):
            if not self._storage.papers_by_db_ids([key]):
                raise NotFoundError(f"no paper with id {key}")
            return ("paper", str(key))
        return ("paper", str(self._storage.ensure_paper(key)))

    def _resolve_all(self, ids: Sequence[str]) -> list[Ref]:
        if not ids:
            raise InvalidInputError("give at least one arXiv id or item id")
        return list(dict.fromkeys(self._resolve(i) for i in ids))

    # -- tags, reactions, reads -----------------------------------------------------------------

    def tag(self, tag: str, ids: Sequence[str]) -> int:
        """Tag papers or items; returns how many were newly tagged."""
        return self._storage.add_tag(self._user_id, _check_tag(tag), self._resolve_all(ids))

    def untag(self, tag: str, ids: Sequence[str] | None = None) -> int:
        """Remove a tag from some papers or items, or (``ids=None``) delete the tag."""
        tag = _check_tag(tag)
        refs = None if ids is None else self._resolve_all(ids)
        removed = self._storage.remove_tag(self._user_id, tag, refs)
        if ids is None and removed == 0:
            raise NotFoundError(f"no tag {tag!r}")
        return removed

    def tags(self) -> list[TagSummary]:
        return [TagSummary(t, n) for t, n in self._storage.tag_counts(self._user_id)]

    def like(self, ids: Sequence[str]) -> None:
        self._storage.set_reaction(self._user_id, self._resolve_all(ids), "like")

    def dismiss(self, ids: Sequence[str]) -> None:
        """Mark as not interesting: an explicit negative for recommendations."""
        self._storage.set_reaction(self._user_id, self._resolve_all(ids), "dismiss")

    def clear_reaction(self, ids: Sequence[str]) -> None:
        self._storage.set_reaction(self._user_id, self._resolve_all(ids), None)

    def mark_read(self, ids: Sequence[str], read: bool = True) -> None:
        self._storage.set_read(self._user_id, self._resolve_all(ids), read)

    def library(self, tag: str | None = None) -> list[LibraryEntry]:
        """The user's tagged and reacted-to papers and items (one tag's, with ``tag``)."""
        uid = self._user_id
        tagged = self._storage.tagged(uid, None if tag is None else _check_tag(tag))
        reactions = {(k, r): x for k, r, x in self._storage.reactions(uid)}
        reads = self._storage.read_refs(uid)
        tags_of: dict[Ref, list[str]] = {}
        for t, k, r in tagged:
            tags_of.setdefault((k, r), []).append(t)
        refs = list(tags_of)
        if tag is None:
            refs += [ref for ref in reactions if ref not in tags_of]
        titles = self._titles(refs)
        labels = self._labels(refs)
        return [
            LibraryEntry(
                kind="paper" if k == "paper" else "item",
                ref=labels.get((k, r), r) if k == "paper" else r,
                title=titles.get((k, r)),
                tags=tuple(tags_of.get((k, r), ())),
                reaction="like"
                if reactions.get((k, r)) == "like"
                else ("dismiss" if reactions.get((k, r)) == "dismiss" else None),
                read=(k, r) in reads,
            )
            for k, r in refs
        ]

    def _titles(self, refs: Sequence[Ref]) -> dict[Ref, str]:
        papers = [int(r) for k, r in refs if k == "paper"]
        items = [int(r) for k, r in refs if k == "item"]
        out: dict[Ref, str] = {}
        for pid, (_label, title) in self._storage.papers_by_db_ids(papers).items():
            if title:  # a stub has none
                out[("paper", str(pid))] = title
        for iid, (title, _url) in self._storage.items_brief(items).items():
            out[("item", str(iid))] = title
        return out

    def _labels(self, refs: Sequence[Ref]) -> dict[Ref, str]:
        """How each paper among ``refs`` is named to the user (``2503.11677``,
        ``openreview:...``); items are named ``item:<id>`` without a lookup."""
        papers = [int(r) for k, r in refs if k == "paper"]
        found = self._storage.paper_records(papers)
        out = {("paper", str(pid)): p.ref for pid, p in found.items()}
        for pid, (label, _title) in self._storage.papers_by_db_ids(
            [p for p in papers if p not in found]
        ).items():
            out[("paper", str(pid))] = label  # stubs: their arXiv id
        for k, r in refs:
            if k == "item":
                out[(k, r)] = f"item:{r}"
        return out
