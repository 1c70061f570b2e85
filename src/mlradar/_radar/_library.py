"""The user's library and what is learned from it: tags, likes, dismissals, read state,
recommendations, related papers, and the semantic half of hybrid search.

The ranking itself lives in :mod:`mlradar._rank` (pure numpy); this mixin reads the
user's feedback from storage, keeps the ranking index in step with the database, and
turns ranked rows into :class:`~mlradar.types.Recommendation` records with reasons.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import platformdirs
from sqlalchemy.engine import make_url

from mlradar._config import APP_NAME
from mlradar._identity.arxiv import parse_arxiv_id
from mlradar._radar._base import RadarBase
from mlradar._rank.corpus import day_to_date
from mlradar._rank.embed import PACKAGED_MODEL, Embedder, load_embedder, packaged_model_path
from mlradar._rank.index import Ranked, RankIndex, doc_text, fuse_rrf, profile_of, rank_many
from mlradar._rank.models import Profile, RankConfig
from mlradar._storage._library import Ref
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import LibraryEntry, Recommendation, SearchHit, TagSummary

#: Most recommendations or related papers one call returns.
MAX_LIMIT = 1000
RELATED_CONFIG = RankConfig(linear_weight=0.0)
#: Trained user models kept in memory (per Radar object).
PROFILE_CACHE = 16
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


class LibraryMixin(RadarBase):
    _rank_indexes: dict[str, RankIndex] | None = None
    _profile_cache: dict[object, Profile] | None = None
    _query_embedder: Embedder | None = None

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
        """Bring the ranking features up to date with the database; returns rows added.

        Only papers and items stored since the last sync are read and featurized.
        """
        ix = self._indexes()
        added = ix[_PAPERS].sync(self._storage.iter_paper_texts(ix[_PAPERS].last_id))
        added += ix[_ITEMS].sync(self._storage.iter_item_texts(ix[_ITEMS].last_id))
        return added

    def embed_rank_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Compute the embeddings still missing (a long job the first time; needs the extra)."""
        ix = self._indexes()
        if ix[_PAPERS].store.meta.model is None:
            raise InvalidInputError(
                "no embedding model: install mlradar[semantic] or set embedding_model"
            )
        self.sync_rank_index()
        done = 0
        for name, reader in (
            (_PAPERS, self._storage.iter_paper_texts),
            (_ITEMS, self._storage.iter_item_texts),
        ):
            first = ix[name].first_unembedded_id
            if first is not None:
                if ix[name].embedder is None:
                    raise InvalidInputError(
                        f"cannot load the embedding model {ix[name].store.meta.model!r}"
                    )
                done += ix[name].embed_missing(reader(first - 1), progress)
        return done

    # -- recommendations --------------------------------------------------------------------------

    def _feedback(self, tag: str | None) -> tuple[list[Ref], list[Ref], set[Ref]]:
        uid = self._user_id
        if tag is not None:
            positives = [(k, r) for _t, k, r in self._storage.tagged(uid, _check_tag(tag))]
            if not positives:
                raise NotFoundError(f"no papers are tagged {tag!r}")
        else:
            positives = [(k, r) for _t, k, r in self._storage.tagged(uid)]
            positives += [(k, r) for k, r, _x in self._storage.reactions(uid, "like")]
        positives = list(dict.fromkeys(positives))
        negatives = [(k, r) for k, r, _x in self._storage.reactions(uid, "dismiss")]
        seen = set(positives) | set(negatives) | self._storage.read_refs(uid)
        return positives, negatives, seen

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
        positives, negatives, seen = self._feedback(tag)
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
        ranked = rank_many(profile, parts, limit * 2)
        out = self._to_recommendations(ranked, pos_order, profile, limit)
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
            (ix.store.meta.rows, ix.store.meta.dense_rows, pos.tobytes(), neg.tobytes())
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

    def _to_recommendations(
        self,
        ranked: Sequence[tuple[int, Ranked]],
        pos_order: Sequence[Ref],
        profile: object,
        limit: int,
    ) -> list[Recommendation]:
        ix = self._indexes()
        paper_ids = [r.db_id for part, r in ranked if part == 0]
        item_ids = [r.db_id for part, r in ranked if part == 1]
        papers = self._storage.papers_by_db_ids(paper_ids)
        arxiv_ids = [papers[i][0] for i in paper_ids if i in papers]
        full = {p.arxiv_id: p for p in self._storage.papers_by_ids(arxiv_ids)}
        naming = self._storage.items_naming(arxiv_ids)
        mentions = self._storage.mention_counts(arxiv_ids)
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
                terms = ix[_PAPERS].explain_terms(text, profile)  # type: ignore[arg-type]
                out.append(
                    Recommendation(
                        kind="paper",
                        arxiv_id=arxiv_id,
                        item_id=naming.get(arxiv_id),
                        title=title,
                        score=round(r.score, 4),
                        reason=self._reason(nearest, pos_titles, r.nearest_sim, terms),
                        url=f"https://arxiv.org/abs/{arxiv_id}",
                        date=paper.first_version_at if paper else None,
                        terms=terms,
                        similar_to=(_ref_label(nearest),) if nearest else (),
                        mentions=mentions.get(arxiv_id, 0),
                    )
                )
            else:
                if r.db_id not in items or r.db_id in items_named:
                    continue  # an item naming a paper is represented by that paper
                title, url = items[r.db_id]
                terms = ix[_ITEMS].explain_terms(title, profile)  # type: ignore[arg-type]
                out.append(
                    Recommendation(
                        kind="item",
                        arxiv_id=None,
                        item_id=r.db_id,
                        title=title,
                        score=round(r.score, 4),
                        reason=self._reason(nearest, pos_titles, r.nearest_sim, terms),
                        url=url,
                        terms=terms,
                        similar_to=(_ref_label(nearest),) if nearest else (),
                    )
                )
            if len(out) >= limit:
                break
        return out

    @staticmethod
    def _reason(
        nearest: Ref | None, titles: dict[Ref, str], sim: float, terms: Sequence[str]
    ) -> str:
        parts = []
        if nearest is not None:
            title = titles.get(nearest, "")
            short = title if len(title) <= 60 else title[:57] + "..."
            parts.append(f"near {_ref_label(nearest)} \u201c{short}\u201d (cos {sim:.2f})")
        if terms:
            parts.append("shares: " + ", ".join(terms))
        return "; ".join(parts) or "similar to your library"

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
        # One paper is no topic to learn: similarity alone, no linear model to train.
        profile = profile_of(
            [(ix[_PAPERS], p_rows, p_rows[:0]), (ix[_ITEMS], i_rows, i_rows[:0])],
            RELATED_CONFIG,
        )
        candidates = np.setdiff1d(ix[_PAPERS].related_candidates(profile), p_rows)
        ranked = rank_many(profile, [(ix[_PAPERS], candidates)], limit)
        return self._to_recommendations(ranked, order, profile, limit)

    # -- search: the semantic half -----------------------------------------------------------

    def semantic_search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Papers nearest to the query's embedding; empty when embeddings are not available."""
        _check_limit(limit)
        if not query.strip():
            raise InvalidInputError("empty search query")
        ix = self._indexes()[_PAPERS]
        if not ix.has_dense:
            return []
        embedder = ix.embedder
        if embedder is None:
            return []
        vector = embedder.encode([query])[0]
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
        self, lexical: Sequence[SearchHit], query: str, *, limit: int = 20
    ) -> list[SearchHit]:
        """Fuse full-text hits with semantic hits by reciprocal rank (lexical alone without
        embeddings).

        ``lexical`` is the full-text result (``Radar.search``) for the same query; hits
        keep their records, and ``score`` becomes the fused score.
        """
        semantic = self.semantic_search(query, limit=max(limit, 20)) if lexical is not None else []
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
