"""Recommendations and related papers: what is learned from the user's library.

This mixin reads the user's feedback, asks :mod:`mlradar._rank` to rank, applies the
discussion and recency priors, and turns ranked rows into
:class:`~mlradar.types.Recommendation` records with their reasons.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from mlradar._radar._index import _ITEMS, _PAPERS
from mlradar._radar._library import LibraryMixin, _check_limit, _check_tag, _ref_label
from mlradar._rank.corpus import day_number, day_to_date
from mlradar._rank.index import (
    Ranked,
    RankIndex,
    Shortlist,
    author_columns,
    author_counts,
    author_lifted,
    doc_text,
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
from mlradar.types import Recommendation

#: One paper is no topic to learn: similarity alone, no linear model to train.  Its
#: authors count as for recommendations (the default ``author_weight``): a paper by the
#: same rare authors is related, all else being about equal.
RELATED_CONFIG = RankConfig(linear_weight=0.0)
#: Authors a reason names at most (``by_authors`` lists them all).
REASON_AUTHORS = 2
#: Trained user models kept in memory (per Radar object).
PROFILE_CACHE = 16


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


class RecommendMixin(LibraryMixin):
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
            drop = index.rows_of([int(r) for k, r in seen if k == "paper"])
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
        rows = self._storage.mention_rows(paper_ids, self._user_id)
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
        labels = self._labels(list(pos_order))
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
                            nearest, pos_titles, r.nearest_sim, terms, signals, author_text, labels
                        ),
                        url=f"https://arxiv.org/abs/{arxiv_id}",
                        date=day,
                        terms=terms,
                        similar_to=(_ref_label(nearest, labels),) if nearest else (),
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
                            nearest, pos_titles, r.nearest_sim, terms, signals, author_text, labels
                        ),
                        url=url,
                        terms=terms,
                        similar_to=(_ref_label(nearest, labels),) if nearest else (),
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
        labels: Mapping[Ref, str] | None = None,
    ) -> str:
        parts = []
        if nearest is not None:
            title = titles.get(nearest, "")
            short = title if len(title) <= 60 else title[:57] + "..."
            label = _ref_label(nearest, labels)
            parts.append(f"near {label} \u201c{short}\u201d (cos {sim:.2f})")
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
            raise NotFoundError(f"{ident} is not stored (import or fetch it first)")
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
        credit = _Credit(
            [(ix[_PAPERS], p_rows), (ix[_ITEMS], i_rows)],
            related_to=_ref_label(ref, self._labels([ref])),
        )
        return self._to_recommendations(
            top[:limit], order, profile, limit, lifted=lifted, credit=credit
        )
