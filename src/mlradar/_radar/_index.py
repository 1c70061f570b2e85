"""The ranking index kept in step with the database: where it lives, syncing it, and
mapping the user's references to its rows.

The ranking itself lives in :mod:`mlradar._rank` (pure numpy); this part of the facade feeds
it rows read from storage.
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
from mlradar._model import TextRow
from mlradar._radar._base import RadarBase
from mlradar._rank.embed import PACKAGED_MODEL, Embedder, load_embedder, packaged_model_path
from mlradar._rank.index import RankIndex
from mlradar._rank.models import RankConfig
from mlradar._storage._library import Ref
from mlradar.exceptions import InvalidInputError

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


class IndexMixin(RadarBase):
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
        """Store rows of refs (papers; items; and the papers items name), in a fixed order.

        The order lists what has rows: ``("paper", id)`` and ``("item", id)`` refs.
        """
        ix = self._indexes()
        item_ids = [int(r) for k, r in refs if k == "item"]
        named = self._storage.arxiv_ids_of_items(item_ids)
        holders = self._storage.paper_db_ids([a for ids in named.values() for a in ids])
        paper_ids = [int(r) for k, r in refs if k == "paper"]
        for iid in item_ids:
            paper_ids += [holders[a] for a in named.get(iid, []) if a in holders]
        order: list[Ref] = []
        p_rows: list[int] = []
        for pid in dict.fromkeys(paper_ids):
            row = ix[_PAPERS].rows_of([pid])
            if len(row):
                order.append(("paper", str(pid)))
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
