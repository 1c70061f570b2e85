"""The user's library and what is learned from it: tags, likes, dismissals, read state,
recommendations, related papers, and the semantic half of hybrid search.

The ranking itself lives in :mod:`mlradar._rank` (pure numpy); this mixin reads the
user's feedback from storage, keeps the ranking index in step with the database, and
turns ranked rows into :class:`~mlradar.types.Recommendation` records with reasons.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import platformdirs
from sqlalchemy.engine import make_url

from mlradar._config import APP_NAME
from mlradar._identity.arxiv import parse_arxiv_id
from mlradar._radar._base import RadarBase
from mlradar._rank.corpus import day_number, day_to_date
from mlradar._rank.embed import PACKAGED_MODEL, Embedder, load_embedder, packaged_model_path
from mlradar._rank.index import (
    Ranked,
    RankIndex,
    Shortlist,
    TextRow,
    author_columns,
    author_counts,
    author_lifted,
    doc_text,
    fuse_rrf,
    profile_of,
    rank_all,
)
from mlradar._rank.models import Profile, RankConfig
from mlradar._rank.signals import (
    Discussion,
    MentionRow,
    SignalConfig,
    describe_places,
    rerank,
    shortlist_is_enough,
    summarize_discussion,
)
from mlradar._storage._library import Ref
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import LibraryEntry, Recommendation, SearchHit, TagSummary

#: Most recommendations or related papers one call returns.
MAX_LIMIT = 1000
#: One paper is no topic to learn: similarity alone, no linear model to train.  Its
#: authors count as for recommendations (the default ``author_weight``): a paper by the
#: same rare authors is related, all else being about equal.
RELATED_CONFIG = RankConfig(linear_weight=0.0)
#: Authors a reason names at most (``by_authors`` lists them all).
REASON_AUTHORS = 2
#: Trained user models kept in memory (per Radar object).
PROFILE_CACHE = 16
#: Query embeddings kept in memory (per Radar object) for repeated searches.
QUERY_CACHE = 256
_QUERY_LOCK = threading.Lock()
_ENCODE_LOCK = threading.Lock()
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


class _Note(NamedTuple):
    """What the priors did to one ranked row."""

    relevance: float
    by_discussion: bool
    by_recency: bool


class _Credit(NamedTuple):
    """What a reason needs to credit authors: the positives, and how to speak of them."""

    positives: Sequence[tuple[RankIndex, np.ndarray]]
    """``(index, rows)`` of the positives: papers first, then items."""
    verb: str = "tagged"
    """How the user chose the positives: ``"tagged"``, or ``"tagged or liked"``."""
    related_to: str | None = None
    """For related papers: the label of the one paper asked about."""


#: What the positives counted per part are called in a reason: papers, then items.
NOUNS = ("paper", "post")


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


def _author_phrase(credited: Sequence[tuple[float, str, list[int]]], credit: _Credit) -> str:
    """``by Ada Lovelace (author of 2 papers you tagged)``: the first names of ``credited``
    (``(weight, name, [papers, posts] among the positives)``, most telling first)."""

    def count(found: list[int]) -> str:
        words = [
            f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in zip(found, NOUNS, strict=True) if n
        ]
        return " and ".join(words)

    shown = credited[:REASON_AUTHORS]
    more = len(credited) - len(shown)
    tail = f" and {more} more" if more else ""
    if credit.related_to is not None:  # the one positive is the paper asked about
        names = ", ".join(name for _w, name, _c in shown) + tail
        role = "an author" if len(credited) == 1 else "authors"
        return f"by {names} (also {role} of {credit.related_to})"
    (_w, first, found), rest = shown[0], shown[1:]
    text = f"by {first} (author of {count(found)} you {credit.verb})"
    for _w, name, found in rest:
        text += f", {name} ({count(found)})"
    return text + tail


def _encode_query(embedder: Embedder, text: str) -> np.ndarray:
    """One query's embedding, computed on one thread.

    A query is a few tokens: torch's intra-op threads gain nothing on such small
    matrices, and on a busy machine they spin waiting for a core (measured on 2 cores at
    load 5: p50 750 ms with 2 threads, 13 ms with one).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        vector: np.ndarray = embedder.encode([text])[0]
        return vector
    with _ENCODE_LOCK:  # the thread count is process-wide: restore it as found
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vector = embedder.encode([text])[0]
        finally:
            torch.set_num_threads(threads)
    return vector


class LibraryMixin(RadarBase):
    _rank_indexes: dict[str, RankIndex] | None = None
    _profile_cache: dict[object, Profile] | None = None
    _query_embedder: Embedder | None = None
    _query_vectors: OrderedDict[tuple[str | None, str], np.ndarray] | None = None

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

    # -- recommendations --------------------------------------------------------------------------

    def _feedback(self, tag: str | None) -> tuple[list[Ref], list[Ref], set[Ref], bool]:
        """Positives, negatives, what not to recommend again, and whether likes are
        among the positives."""
        uid = self._user_id
        liked: list[Ref] = []
        if tag is not None:
            positives = [(k, r) for _t, k, r in self._storage.tagged(uid, _check_tag(tag))]
            if not positives:
                raise NotFoundError(f"no papers are tagged {tag!r}")
        else:
            positives = [(k, r) for _t, k, r in self._storage.tagged(uid)]
            liked = [(k, r) for k, r, _x in self._storage.reactions(uid, "like")]
            liked = [ref for ref in liked if ref not in set(positives)]
            positives += liked
        positives = list(dict.fromkeys(positives))
        negatives = [(k, r) for k, r, _x in self._storage.reactions(uid, "dismiss")]
        seen = set(positives) | set(negatives) | self._storage.read_refs(uid)
        return positives, negatives, seen, bool(liked)

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

    def _window(
        self, tag: str | None, since: date | None, until: date | None
    ) -> tuple[date, date] | None:
        newest = self._indexes()[_PAPERS].newest_day()
        newest_items = self._indexes()[_ITEMS].newest_day()
        days = [d for d in (newest, newest_items) if d is not None]
        if not days:
            return None
        last = day_to_date(max(days))
        if since is not None or until is not None:
            return (since or date(1970, 1, 1), until or last)
        key = f"digest:{tag or '*'}"
        previous = self._storage.get_user_state(self._user_id, key)
        if previous:
            prev_since, prev_until = (date.fromisoformat(x) for x in previous.split("/"))
            if prev_until >= last:
                return (prev_since, prev_until)  # nothing new since: show the last digest again
            return (prev_until + timedelta(days=1), last)
        return (last - timedelta(days=6), last)

    def recommend(
        self,
        *,
        tag: str | None = None,
        since: date | None = None,
        until: date | None = None,
        limit: int = 20,
    ) -> list[Recommendation]:
        """Rank what was listed in a window by what the user tagged, liked and dismissed.

        The default window is what is new since the last digest (the first time: the
        newest week).  ``tag`` learns from one tag only; otherwise from every tag and like.
        """
        _check_limit(limit)
        if since is not None and until is not None and since > until:
            raise InvalidInputError("--since is after --until")
        self.sync_rank_index()
        positives, negatives, seen, with_likes = self._feedback(tag)
        if not positives:
            raise InvalidInputError(
                "nothing to learn from yet: tag or like a few papers first (mlradar tag add ...)"
            )
        window = self._window(tag, since, until)
        if window is None:
            return []
        ix = self._indexes()
        pos_order, pos_p, pos_i = self._rows_of(positives)
        if not pos_order:
            raise NotFoundError("none of the tagged or liked papers is stored yet")
        _neg_order, neg_p, neg_i = self._rows_of(negatives)
        profile = self._profile([(ix[_PAPERS], pos_p, neg_p), (ix[_ITEMS], pos_i, neg_i)])
        parts = [
            (ix[_PAPERS], self._candidates(_PAPERS, window, seen)),
            (ix[_ITEMS], self._candidates(_ITEMS, window, seen)),
        ]
        ranked, notes, discussed, lifted = self._apply_signals(
            rank_all(profile, parts), window, limit * 2, profile.config.author_weight
        )
        credit = _Credit(
            [(ix[_PAPERS], pos_p), (ix[_ITEMS], pos_i)],
            "tagged or liked" if with_likes else "tagged",
        )
        out = self._to_recommendations(
            ranked, pos_order, profile, limit, notes, discussed, lifted, credit
        )
        if since is None and until is None and out:
            self._storage.set_user_state(
                self._user_id, f"digest:{tag or '*'}", f"{window[0]}/{window[1]}"
            )
        return out

    def _profile(self, parts: list[tuple[RankIndex, np.ndarray, np.ndarray]]) -> Profile:
        """The user's model, reused while neither the feedback nor the corpus changed.

        Training the linear channel is the one costly step of a recommendation; a web
        process serving the same user again skips it.
        """
        key = tuple(
            (
                ix.store.meta.rows,
                ix.store.meta.dense_rows,
                ix.store.meta.author_rows,
                pos.tobytes(),
                neg.tobytes(),
            )
            for ix, pos, neg in parts
        )
        cache = self._profile_cache
        if cache is None:
            cache = self._profile_cache = {}
        if key not in cache:
            if len(cache) >= PROFILE_CACHE:
                cache.pop(next(iter(cache)))
            cache[key] = profile_of(parts)
        return cache[key]

    def _candidates(self, name: str, window: tuple[date, date], seen: set[Ref]) -> np.ndarray:
        index = self._indexes()[name]
        rows = index.window(*window)
        if not len(rows):
            return rows
        if name == _PAPERS:
            seen_ids = self._storage.paper_db_ids([r for k, r in seen if k == "paper"])
            drop = index.rows_of(list(seen_ids.values()))
        else:
            drop = index.rows_of([int(r) for k, r in seen if k == "item"])
        return np.setdiff1d(rows, drop, assume_unique=False)

    def _signal_config(self) -> SignalConfig:
        st = self._settings
        return SignalConfig(
            discussion_weight=st.rank_discussion_weight,
            recency_weight=st.rank_recency_weight,
            recency_half_life_days=st.rank_recency_half_life_days,
        )

    def _discussion(self, paper_ids: Sequence[int]) -> dict[int, Discussion]:
        """Who discusses each paper (by database id); papers nobody names get the empty record."""
        if not paper_ids:
            return {}
        rows = self._storage.mention_rows(paper_ids)
        found = summarize_discussion(MentionRow(*r) for r in rows)
        return {i: found.get(i, Discussion()) for i in paper_ids}

    def _apply_signals(
        self, shortlist: Shortlist, window: tuple[date, date], need: int, author_weight: float
    ) -> tuple[
        list[tuple[int, Ranked]],
        dict[tuple[int, int], _Note],
        dict[int, Discussion],
        set[tuple[int, int]],
    ]:
        """The ``need`` best rows after the discussion and recency priors, with what the
        priors did, who discusses them, and which rows their authors lifted.

        Only the model's best candidates are re-scored (their discussion is one query);
        the shortlist grows until no candidate left out could climb into the result.
        """
        cfg = self._signal_config()
        ix = self._indexes()
        indexes = (ix[_PAPERS], ix[_ITEMS])  # the part numbers recommend() ranks with
        discussed: dict[int, Discussion] = {}
        depth = max(cfg.depth, need)
        while True:
            top = shortlist.take(depth)
            papers = [r.db_id for part, r in top if part == 0]
            discussed.update(self._discussion([i for i in papers if i not in discussed]))
            # Items have no discussion signal: nothing stored says who shares a blog post.
            places = [len(discussed[r.db_id].places) if part == 0 else 0 for part, r in top]
            parts = np.array([part for part, _ in top], dtype=np.int64)
            rows = np.array([r.row for _, r in top], dtype=np.int64)
            days = np.zeros(len(top), dtype=np.int64)
            for k, index in enumerate(indexes):
                if np.any(parts == k):
                    days[parts == k] = index.days_of(rows[parts == k])
            result = rerank(
                [r.score for _, r in top],
                places,
                days,
                day_number(window[1]),
                shortlist.spread,
                cfg,
            )
            k = min(need, len(top))
            kth = float(result.score[result.order[k - 1]]) if k else 0.0
            if k == 0 or shortlist_is_enough(
                shortlist.score_at(len(top)), kth, shortlist.spread, cfg
            ):
                break
            depth *= 4
        shown = result.order[:need]
        # A prior is worth a word in the reason when it moved a row above another row of
        # this list that the model preferred.
        by_discussion, by_recency = result.lifted(shown)
        # Authors likewise, judged within the model: above a row shown below it, or one
        # of the shortlist's that it kept out of the list.
        by_authors = author_lifted(top, author_weight)
        ranked: list[tuple[int, Ranked]] = []
        notes: dict[tuple[int, int], _Note] = {}
        lifted: set[tuple[int, int]] = set()
        for n, i in enumerate(shown):
            part, r = top[int(i)]
            ranked.append((part, replace(r, score=float(result.score[i]))))
            notes[(part, r.db_id)] = _Note(r.score, bool(by_discussion[n]), bool(by_recency[n]))
            if by_authors[int(i)]:
                lifted.add((part, r.db_id))
        return ranked, notes, discussed, lifted

    def _to_recommendations(
        self,
        ranked: Sequence[tuple[int, Ranked]],
        pos_order: Sequence[Ref],
        profile: Profile,
        limit: int,
        notes: Mapping[tuple[int, int], _Note] | None = None,
        discussed: Mapping[int, Discussion] | None = None,
        lifted: Collection[tuple[int, int]] = (),
        credit: _Credit | None = None,
    ) -> list[Recommendation]:
        """Records with reasons for ranked rows; ``lifted`` names the ``(part, db id)`` rows
        whose authors lifted them, credited in their reasons as ``credit`` says."""
        ix = self._indexes()
        notes = notes or {}
        paper_ids = [r.db_id for part, r in ranked if part == 0]
        item_ids = [r.db_id for part, r in ranked if part == 1]
        papers = self._storage.papers_by_db_ids(paper_ids)
        arxiv_ids = [papers[i][0] for i in paper_ids if i in papers]
        full = {p.arxiv_id: p for p in self._storage.papers_by_ids(arxiv_ids)}
        credited = self._credited_authors(
            ranked,
            lifted,
            credit,
            profile,
            {i: full[a].authors for i, (a, _t) in papers.items() if a in full},
        )
        naming = self._storage.items_naming(arxiv_ids)
        talk = dict(discussed or {})
        talk.update(self._discussion([i for i in paper_ids if i not in talk]))
        items = self._storage.items_brief(item_ids)
        items_named = self._storage.arxiv_ids_of_items(item_ids)
        pos_titles = self._titles(list(pos_order))
        out: list[Recommendation] = []
        for part, r in ranked:
            nearest = pos_order[r.nearest] if r.nearest < len(pos_order) else None
            if part == 0:
                if r.db_id not in papers:
                    continue
                arxiv_id, title = papers[r.db_id]
                paper = full.get(arxiv_id)
                text = doc_text(title, paper.abstract if paper else "")
                terms = ix[_PAPERS].explain_terms(text, profile)
                note = notes.get((part, r.db_id))
                talked = talk.get(r.db_id, Discussion())
                day = paper.first_version_at if paper else None
                signals = []
                if note is not None and note.by_discussion and talked.places:
                    signals.append(describe_places(talked.places))
                if note is not None and note.by_recency and day is not None:
                    signals.append(f"newer in the window (listed {day.isoformat()})")
                names, author_text = credited.get((part, r.db_id), ((), None))
                out.append(
                    Recommendation(
                        kind="paper",
                        arxiv_id=arxiv_id,
                        item_id=naming.get(arxiv_id),
                        title=title,
                        score=round(r.score, 4),
                        reason=self._reason(
                            nearest, pos_titles, r.nearest_sim, terms, signals, author_text
                        ),
                        url=f"https://arxiv.org/abs/{arxiv_id}",
                        date=day,
                        terms=terms,
                        similar_to=(_ref_label(nearest),) if nearest else (),
                        mentions=talked.items,
                        discussed_in=talked.places,
                        relevance=None if note is None else round(note.relevance, 4),
                        by_authors=names,
                    )
                )
            else:
                if r.db_id not in items or r.db_id in items_named:
                    continue  # an item naming a paper is represented by that paper
                title, url = items[r.db_id]
                terms = ix[_ITEMS].explain_terms(title, profile)
                note = notes.get((part, r.db_id))
                signals = []
                if note is not None and note.by_recency:
                    day = day_to_date(int(ix[_ITEMS].store.days[r.row]))
                    signals.append(f"newer in the window (dated {day.isoformat()})")
                names, author_text = credited.get((part, r.db_id), ((), None))
                out.append(
                    Recommendation(
                        kind="item",
                        arxiv_id=None,
                        item_id=r.db_id,
                        title=title,
                        score=round(r.score, 4),
                        reason=self._reason(
                            nearest, pos_titles, r.nearest_sim, terms, signals, author_text
                        ),
                        url=url,
                        terms=terms,
                        similar_to=(_ref_label(nearest),) if nearest else (),
                        relevance=None if note is None else round(note.relevance, 4),
                        by_authors=names,
                    )
                )
            if len(out) >= limit:
                break
        return out

    def _credited_authors(
        self,
        ranked: Sequence[tuple[int, Ranked]],
        lifted: Collection[tuple[int, int]],
        credit: _Credit | None,
        profile: Profile,
        paper_authors: Mapping[int, Sequence[str]],
    ) -> dict[tuple[int, int], tuple[tuple[str, ...], str | None]]:
        """For each lifted row: the names to credit (the row's authors who wrote positives,
        the most telling first) and the reason's phrase for them.

        Names come from the database, for the rows shown only; they are matched to the
        positives through the hashed columns the ranking used.
        """
        rows = [(part, r) for part, r in ranked if (part, r.db_id) in lifted]
        if not rows or credit is None or profile.author_weights is None:
            return {}
        item_names = self._storage.item_authors([r.db_id for part, r in rows if part == 1])
        per_part = [author_counts([pair]) for pair in credit.positives]
        out: dict[tuple[int, int], tuple[tuple[str, ...], str | None]] = {}
        for part, r in rows:
            names = list(
                paper_authors.get(r.db_id, ()) if part == 0 else item_names.get(r.db_id, ())
            )
            columns = author_columns(names)
            found: dict[int, tuple[float, str, list[int]]] = {}
            for name, col in zip(names, columns, strict=True):
                counts = [int(c[col]) for c in per_part] if col >= 0 else []
                weight = float(profile.author_weights[col]) if col >= 0 else 0.0
                # A name on every paper weighs nothing: it lifted nothing, so no credit.
                if sum(counts) and weight > 0 and int(col) not in found:
                    found[int(col)] = (weight, name, counts)
            if not found:
                continue
            best = sorted(found.values(), key=lambda f: -f[0])
            credited = tuple(name for _w, name, _c in best)
            out[(part, r.db_id)] = (credited, _author_phrase(best, credit))
        return out

    @staticmethod
    def _reason(
        nearest: Ref | None,
        titles: dict[Ref, str],
        sim: float,
        terms: Sequence[str],
        signals: Sequence[str] = (),
        authors: str | None = None,
    ) -> str:
        parts = []
        if nearest is not None:
            title = titles.get(nearest, "")
            short = title if len(title) <= 60 else title[:57] + "..."
            parts.append(f"near {_ref_label(nearest)} \u201c{short}\u201d (cos {sim:.2f})")
        if terms:
            parts.append("shares: " + ", ".join(terms))
        if authors:
            parts.append(authors)
        text = "; ".join(parts) or "similar to your library"
        return "; ".join([text, *signals])

    # -- related ---------------------------------------------------------------------------------

    def related(self, ident: str, *, limit: int = 10) -> list[Recommendation]:
        """The stored papers most like one paper or item (by the same features as recommend)."""
        _check_limit(limit)
        self.sync_rank_index()
        ref = self._resolve(ident)
        order, p_rows, i_rows = self._rows_of([ref])
        if not order:
            raise NotFoundError(f"{_ref_label(ref)} is not stored (import or fetch it first)")
        ix = self._indexes()
        profile = profile_of(
            [(ix[_PAPERS], p_rows, p_rows[:0]), (ix[_ITEMS], i_rows, i_rows[:0])],
            RELATED_CONFIG,
        )
        candidates = np.setdiff1d(ix[_PAPERS].related_candidates(profile), p_rows)
        # More than shown, to tell which rows their authors lifted into the list.
        top = rank_all(profile, [(ix[_PAPERS], candidates)]).take(2 * limit)
        by_authors = author_lifted(top, RELATED_CONFIG.author_weight)
        lifted = {(part, r.db_id) for (part, r), up in zip(top, by_authors, strict=True) if up}
        credit = _Credit([(ix[_PAPERS], p_rows), (ix[_ITEMS], i_rows)], related_to=_ref_label(ref))
        return self._to_recommendations(
            top[:limit], order, profile, limit, lifted=lifted, credit=credit
        )

    # -- search: the semantic half -----------------------------------------------------------

    def _query_vector(self, ix: RankIndex, query: str) -> np.ndarray | None:
        """The query's embedding, from a small LRU cache: a query is often run again
        (the next page, a changed filter, the same search from a saved link), and
        embedding it is the costliest step of the semantic half."""
        cache = self._query_vectors
        if cache is None:
            cache = self._query_vectors = OrderedDict()
        key = (ix.store.meta.model, " ".join(query.split()))
        with _QUERY_LOCK:
            cached = cache.get(key)
            if cached is not None:
                cache.move_to_end(key)
                return cached
        embedder = ix.embedder
        if embedder is None:
            return None
        vector = _encode_query(embedder, key[1])
        with _QUERY_LOCK:
            cache[key] = vector
            while len(cache) > QUERY_CACHE:
                cache.popitem(last=False)
        return vector

    def semantic_search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Papers nearest to the query's embedding; empty when embeddings are not available."""
        _check_limit(limit)
        if not query.strip():
            raise InvalidInputError("empty search query")
        ix = self._indexes()[_PAPERS]
        if not ix.has_dense:
            return []
        vector = self._query_vector(ix, query)
        if vector is None:
            return []
        hits = ix.semantic_neighbours(vector, limit)
        papers = self._storage.papers_by_db_ids([i for i, _ in hits])
        full = {p.arxiv_id: p for p in self._storage.papers_by_ids([a for a, _ in papers.values()])}
        out = []
        for db_id, sim in hits:
            if db_id not in papers:
                continue
            arxiv_id, title = papers[db_id]
            paper = full.get(arxiv_id)
            day = paper.first_version_at if paper else None
            out.append(
                SearchHit(
                    kind="paper",
                    ref=arxiv_id,
                    title=title,
                    url=f"https://arxiv.org/abs/{arxiv_id}",
                    snippet=(paper.abstract[:200] if paper else ""),
                    score=sim,
                    source_name="arXiv",
                    date=None
                    if day is None
                    else datetime(day.year, day.month, day.day, tzinfo=UTC),
                )
            )
        return out

    def hybrid_search(
        self,
        lexical: Sequence[SearchHit],
        query: str,
        *,
        limit: int = 20,
        semantic: Sequence[SearchHit] | None = None,
    ) -> list[SearchHit]:
        """Fuse full-text hits with semantic hits by reciprocal rank (lexical alone without
        embeddings).

        ``lexical`` is the full-text result (``Radar.search``) for the same query; hits
        keep their records, and ``score`` becomes the fused score.  ``semantic`` is
        :meth:`semantic_search`'s result when the caller already has it.
        """
        if semantic is None:
            semantic = self.semantic_search(query, limit=max(limit, 20))
        if not semantic:
            return list(lexical)[:limit]
        by_key: dict[str, SearchHit] = {}
        for hit in [*lexical, *semantic]:
            by_key.setdefault(f"{hit.kind}:{hit.ref}", hit)
        fused = fuse_rrf(
            [[f"{h.kind}:{h.ref}" for h in lexical], [f"{h.kind}:{h.ref}" for h in semantic]]
        )
        out = []
        for key, score in fused[:limit]:
            hit = by_key[key]
            out.append(
                SearchHit(
                    kind=hit.kind,
                    ref=hit.ref,
                    title=hit.title,
                    url=hit.url,
                    snippet=hit.snippet,
                    score=score,
                    source_name=hit.source_name,
                    date=hit.date,
                )
            )
        return out
