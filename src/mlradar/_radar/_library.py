"""The user's library: tags, likes, dismissals, read state, and the ranking index kept in
step with the database.

What is learned from the library lives beside this mixin: recommendations and related
papers in :mod:`._recommend`, the semantic half of search in :mod:`._semantic`.  The
ranking itself lives in :mod:`mlradar._rank` (pure numpy).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import platformdirs
from sqlalchemy.engine import make_url

from mlradar._config import APP_NAME
from mlradar._identity.arxiv import parse_arxiv_id
from mlradar._radar._base import RadarBase
from mlradar._rank.embed import PACKAGED_MODEL, Embedder, load_embedder, packaged_model_path
from mlradar._rank.index import (
    RankIndex,
    TextRow,
)
from mlradar._rank.models import RankConfig
from mlradar._storage._library import Ref
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import LibraryEntry, TagSummary

#: Most recommendations or related papers one call returns.
MAX_LIMIT = 1000
#: How long before a sync started the next sync looks for changed rows.  A row's change
#: stamp is taken when its write starts (papers) or when its feed was fetched (items), so
#: it can commit minutes after its stamp, after a sync has passed; the margin must cover
#: that delay (and any clock skew between writers and this process).  Looking again costs
#: a fingerprint per row written in the margin, and only until the next sync has moved on;
#: missing a row would keep its old text's features until it changes again.
CHANGE_MARGIN = timedelta(minutes=5)
#: The change mark advances in steps at least this long (rows are re-read at most this
#: much longer, which fingerprints make harmless).
CHANGE_MARK_STEP = timedelta(minutes=1)
_PAPERS, _ITEMS = "papers", "items"


def rank_dir_for(database_url: str) -> Path:
    """Where the ranking index of a database lives: beside a SQLite file, else in the cache."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(db.name + ".rank")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "rank" / digest


def _check_tag(tag: str) -> str:
    tag = tag.strip()
    if not tag or len(tag) > 200 or any(c.isspace() for c in tag) or tag.startswith("-"):
        raise InvalidInputError(f"{tag!r} is not a tag: use 1-200 characters without spaces")
    return tag


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _ref_label(ref: Ref) -> str:
    return ref[1] if ref[0] == "paper" else f"item:{ref[1]}"


def _sync_one(
    index: RankIndex,
    changed: Callable[[datetime, int], Iterator[list[TextRow]]],
    new: Callable[[int], Iterator[list[TextRow]]],
    authors: Callable[[Sequence[int]], Mapping[int, Sequence[str]]],
) -> int:
    """Back-fill missing author rows, refresh the rows written since the last sync, then
    add the new ones."""
    # Before reading anything: what commits from now on is stamped after this, less the margin.
    started = datetime.now(UTC)
    # A store from before author rows gets them first (names only: seconds for 75k
    # papers), so that what follows appends author rows in step.
    index.fill_authors(authors)
    done = 0
    if index.last_id:
        since = _changed_since(index)
        if since is not None:
            done += index.refresh(changed(since, index.last_id))
    done += index.sync(new(index.last_id))
    mark = started - CHANGE_MARGIN
    previous = _changed_since(index) if index.changed_since else None
    # Moving the mark a few seconds saves nothing worth a meta.json write per request.
    if index.last_id and (previous is None or mark - previous >= CHANGE_MARK_STEP):
        index.set_changed_since(mark.isoformat())
    return done


def _changed_since(index: RankIndex) -> datetime | None:
    if index.changed_since is not None:
        return datetime.fromisoformat(index.changed_since)
    # A store from before change tracking was last brought up to date when it was last
    # written: what changed after that (less the margin) is what it may have missed.
    written = index.store.written_at()
    return None if written is None else written - CHANGE_MARGIN


class LibraryMixin(RadarBase):
    _rank_indexes: dict[str, RankIndex] | None = None

    # -- references -----------------------------------------------------------------------------

    def _resolve(self, ident: str) -> Ref:
        """An arXiv id (any usual spelling) or an item id (digits, or ``item:<id>``)."""
        text = str(ident).strip()
        bare = text.removeprefix("item:")
        if bare.isdigit():
            if not self._storage.item_exists(int(bare)):
                raise NotFoundError(f"no item with id {bare}")
            return ("item", str(int(bare)))
        arxiv_id, _version = parse_arxiv_id(text)
        return ("paper", arxiv_id)

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
        return [
            LibraryEntry(
                kind="paper" if k == "paper" else "item",
                ref=r,
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
        papers = [r for k, r in refs if k == "paper"]
        items = [int(r) for k, r in refs if k == "item"]
        out: dict[Ref, str] = {}
        db_ids = self._storage.paper_db_ids(papers)
        for _pid, (arxiv_id, title) in self._storage.papers_by_db_ids(
            list(db_ids.values())
        ).items():
            out[("paper", arxiv_id)] = title
        for iid, (title, _url) in self._storage.items_brief(items).items():
            out[("item", str(iid))] = title
        return out

    # -- the ranking index ------------------------------------------------------------------------

    def _model_name(self) -> str | None:
        name = self._settings.embedding_model
        if name:
            return name
        if packaged_model_path() is not None and importlib.util.find_spec("sentence_transformers"):
            return PACKAGED_MODEL
        return None

    def _indexes(self) -> dict[str, RankIndex]:
        if self._rank_indexes is None:
            root = rank_dir_for(self._settings.database_url)
            model = self._model_name()

            def loader() -> Embedder | None:
                return load_embedder(model)

            self._rank_indexes = {
                _PAPERS: RankIndex(root / _PAPERS, model, loader, RankConfig()),
                _ITEMS: RankIndex(root / _ITEMS, model, loader, RankConfig()),
            }
        return self._rank_indexes

    def sync_rank_index(self) -> int:
        """Bring the ranking features up to date with the database; returns rows written.

        Papers and items stored since the last sync are featurized; those written since
        (a new arXiv version, an edited post) are featurized again if their text changed.
        """
        ix, st = self._indexes(), self._storage
        done = _sync_one(
            ix[_PAPERS], st.iter_changed_paper_texts, st.iter_paper_texts, st.paper_authors
        )
        done += _sync_one(
            ix[_ITEMS], st.iter_changed_item_texts, st.iter_item_texts, st.item_authors
        )
        return done

    def embed_rank_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Compute the embeddings still missing (a long job the first time; needs the extra)."""
        ix = self._indexes()
        if ix[_PAPERS].store.meta.model is None:
            raise InvalidInputError(
                "no embedding model: install mlradar[semantic] or set embedding_model"
            )
        self.sync_rank_index()
        done = 0
        for name, lookup in (
            (_PAPERS, self._storage.paper_texts),
            (_ITEMS, self._storage.item_texts),
        ):
            if ix[name].first_unembedded_id is not None:
                if ix[name].embedder is None:
                    raise InvalidInputError(
                        f"cannot load the embedding model {ix[name].store.meta.model!r}"
                    )
                done += ix[name].embed_missing(lookup, progress)
        return done

    # -- rows of references -----------------------------------------------------------------------

    def _rows_of(self, refs: Sequence[Ref]) -> tuple[list[Ref], np.ndarray, np.ndarray]:
        """Store rows of refs (papers; items; and the papers items name), in a fixed order."""
        ix = self._indexes()
        item_ids = [int(r) for k, r in refs if k == "item"]
        named = self._storage.arxiv_ids_of_items(item_ids)
        paper_refs = [r for k, r in refs if k == "paper"]
        for iid in item_ids:
            paper_refs += named.get(iid, [])
        paper_refs = list(dict.fromkeys(paper_refs))
        db_ids = self._storage.paper_db_ids(paper_refs)
        order: list[Ref] = []
        p_rows: list[int] = []
        for arxiv_id in paper_refs:
            if arxiv_id in db_ids:
                row = ix[_PAPERS].rows_of([db_ids[arxiv_id]])
                if len(row):
                    order.append(("paper", arxiv_id))
                    p_rows.append(int(row[0]))
        i_rows: list[int] = []
        for iid in item_ids:
            if iid in named:
                continue  # the paper it names stands for it
            row = ix[_ITEMS].rows_of([iid])
            if len(row):
                order.append(("item", str(iid)))
                i_rows.append(int(row[0]))
        return order, np.array(p_rows, dtype=np.int64), np.array(i_rows, dtype=np.int64)
