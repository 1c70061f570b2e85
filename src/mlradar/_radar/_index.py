"""The ranking index kept in step with the database: where it lives, syncing it, and
mapping the user's references to its rows.

The ranking itself lives in :mod:`mlradar._rank` (numpy); this part of the facade feeds it
rows read from storage.  Syncing is an explicit job (:meth:`IndexMixin.sync_rank_index`,
run by ``mlradar index`` and by the writers of papers and items) that holds the rank
directory's file lock and, on PostgreSQL, an advisory lock: two syncing processes take
turns.  Every read path opens the index read-only and ranks what it holds.

numpy and the ranking modules are imported inside the methods: a command that does not
rank (``mlradar stats``) must not pay for them at start-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from mlradar._config import APP_NAME
from mlradar._model import TextRow
from mlradar._radar._base import RadarBase
from mlradar._storage._head import sqlite_file
from mlradar.exceptions import InvalidInputError

if TYPE_CHECKING:
    from mlradar._rank.embed import Embedder
    from mlradar._rank.index import RankIndex
    from mlradar._storage._library import Ref

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
#: The PostgreSQL advisory lock the index writers hold (a fixed 63-bit number).
SYNC_LOCK_KEY = int.from_bytes(hashlib.sha256(b"mlradar:rank-index-sync").digest()[:8]) >> 1


def rank_dir_for(database_url: str) -> Path:
    """Where the ranking index of a database lives: beside a SQLite file, else in the cache."""
    db = sqlite_file(database_url)
    if db is not None:
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
        from mlradar._rank.embed import default_model_name, model_to_use, trained_name
        from mlradar._rank.store import embedded_model

        # The name is what the index records beside its vectors: another backend's name
        # makes the index drop them and embed again (vectors of two backends never mix).
        if setting := self._settings.embedding_model:
            return trained_name(setting, self._rank_root())
        embedded = embedded_model(self._rank_root() / _PAPERS)
        return model_to_use(None, embedded, default_model_name())

    def _rank_root(self) -> Path:
        return rank_dir_for(self._settings.database_url)

    def _open_indexes(self, writable: bool) -> dict[str, RankIndex]:
        from mlradar._rank.embed import load_embedder
        from mlradar._rank.index import RankIndex
        from mlradar._rank.models import RankConfig

        root, model = self._rank_root(), self._model_name()

        def loader() -> Embedder | None:
            # Loaded once per process (seconds), shared by the readers and every sync.
            if self._rank_embedder is None:
                self._rank_embedder = (load_embedder(model, home=root),)
            return self._rank_embedder[0]

        return {
            name: RankIndex(root / name, model, loader, RankConfig(), writable=writable)
            for name in (_PAPERS, _ITEMS)
        }

    def _indexes(self) -> dict[str, RankIndex]:
        """The ranking indexes, read-only, as the last sync left them (re-read when a
        writer changed them since: one ``stat`` each when nothing did)."""
        if self._rank_indexes is None:
            self._rank_indexes = self._open_indexes(writable=False)
        else:
            for index in self._rank_indexes.values():
                index.refresh_view()
        return self._rank_indexes

    def _writing(self, job: Callable[[dict[str, RankIndex]], int]) -> int:
        """Run ``job`` on freshly opened writable indexes under the writers' locks."""
        from mlradar._rank.locks import writer_lock

        with writer_lock(self._rank_root()), self._storage.advisory_lock(SYNC_LOCK_KEY):
            # Opened after the lock is held: what the previous writer wrote is seen.
            done = job(self._open_indexes(writable=True))
        return done

    def sync_rank_index(self) -> int:
        """Bring the ranking features up to date with the database; returns rows written.

        Papers and items stored since the last sync are featurized; those written since
        (a new arXiv version, an edited post) are featurized again if their text changed.
        Safe to run from several processes at once: they take turns.
        """
        st = self._storage

        def job(ix: dict[str, RankIndex]) -> int:
            done = _sync_one(
                ix[_PAPERS], st.iter_changed_paper_texts, st.iter_paper_texts, st.paper_authors
            )
            return done + _sync_one(
                ix[_ITEMS], st.iter_changed_item_texts, st.iter_item_texts, st.item_authors
            )

        return self._writing(job)

    def rank_index_behind(self) -> bool:
        """Whether the database holds papers or items the ranking index has not seen yet
        (run :meth:`sync_rank_index`, ``mlradar index``, to add them)."""
        ix = self._indexes()
        st = self._storage
        return any(
            next(iter(rows(ix[name].last_id, 1)), None) is not None
            for name, rows in ((_PAPERS, st.iter_paper_texts), (_ITEMS, st.iter_item_texts))
        )

    def embed_rank_index(
        self,
        progress: Callable[[int, int], None] | None = None,
        training: Callable[[str, int, int], None] | None = None,
    ) -> int:
        """Compute the embeddings still missing (a long job the first time; needs the extra).

        With ``embedding_model = "packaged:all-MiniLM-L6-v2@tuned"`` the first call trains
        that model on a sample of the stored papers first; ``training`` is told
        ``(phase, done, total)`` as it goes (phases ``teacher`` and ``training``, then
        ``trained`` once the model is kept).
        """
        self.sync_rank_index()
        self._train_tuned(training)
        st = self._storage

        def job(ix: dict[str, RankIndex]) -> int:
            if ix[_PAPERS].store.meta.model is None:
                raise InvalidInputError(
                    "no embedding model: install mlradar[semantic] or set embedding_model"
                )
            done = 0
            for name, lookup in ((_PAPERS, st.paper_texts), (_ITEMS, st.item_texts)):
                if ix[name].first_unembedded_id is not None:
                    if ix[name].embedder is None:
                        raise InvalidInputError(
                            f"cannot load the embedding model {ix[name].store.meta.model!r}"
                        )
                    done += ix[name].embed_missing(lookup, progress)
            return done

        return self._writing(job)

    def _train_tuned(self, progress: Callable[[str, int, int], None] | None) -> None:
        """Train the tuned backend's model for this index when it is configured and has none."""
        from mlradar._rank.embed import needs_training, packaged_model_path

        if not needs_training(self._model_name()):
            return
        import numpy as np

        from mlradar._rank import embed_tuned
        from mlradar._rank.index import doc_text

        model_dir = packaged_model_path()
        if model_dir is None:
            raise InvalidInputError("the tuned backend needs mlradar[semantic] installed")
        ids = embed_tuned.training_sample(np.asarray(self._indexes()[_PAPERS].store.ids))
        texts = [doc_text(r[1], r[2]) for r in self._storage.paper_texts(ids.tolist())]
        # Not under the writers' lock: training takes minutes, and other syncs must not
        # wait for it.  The model appears by one rename, so readers see all of it or none.
        embed_tuned.train_tuned(self._rank_root(), model_dir, texts, progress)
        # Opened under the bare name: the next opening names them after the trained model.
        self._rank_indexes = None
        self._rank_embedder = None

    # -- rows of references -----------------------------------------------------------------------

    def _rows_of(self, refs: Sequence[Ref]) -> tuple[list[Ref], Any, Any]:
        """Store rows of refs (papers; items; and the papers items name), in a fixed order:
        ``(refs found, paper rows, item rows)``; the refs are ``("paper", id)`` and
        ``("item", id)``."""
        import numpy as np

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
