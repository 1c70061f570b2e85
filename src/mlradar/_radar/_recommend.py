"""Recommendations and related papers: what is learned from the user's library.

This mixin reads the user's feedback, asks :mod:`mlradar._rank` to rank (through the
read-only index: it never syncs), applies the discussion and recency priors, and turns
the rows shown into :class:`~mlradar.types.Recommendation` records with their reasons.

The user's model is trained once per feedback: kept in memory for this process and in a
file beside the index for the next one (:mod:`mlradar._rank.profile`).  Reasons are
computed for the rows shown only.  numpy and the ranking modules are imported inside the
methods (see :mod:`._index`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from mlradar._radar._index import _ITEMS, _PAPERS
from mlradar._radar._library import LibraryMixin, _check_limit, _check_tag, _ref_label
from mlradar.exceptions import InvalidInputError, NotFoundError
from mlradar.types import Recommendation

if TYPE_CHECKING:
    from mlradar._rank.index import Ranked, RankIndex, SharedTerm, Shortlist
    from mlradar._rank.models import Profile
    from mlradar._rank.signals import Discussion
    from mlradar._storage._library import Ref

log = logging.getLogger(__name__)

#: Authors a reason names at most (and ``by_authors`` lists).
REASON_AUTHORS = 2
#: Trained user models kept in memory (per Radar object).
PROFILE_CACHE = 16
#: "like 2503.11677 (you tagged it)" is said only from this cosine similarity on: on the
#: 74,728-paper corpus, a paper's nearest among 300 random papers stays below 0.093 (TF-IDF)
#: and 0.739 (all-MiniLM-L6-v2) for 99% of papers, so a similarity above these is rarely
#: chance (measured in docs/benchmarks.md).  Below them the reason speaks of shared terms.
LIKE_THRESHOLD_LEXICAL = 0.10
LIKE_THRESHOLD_DENSE = 0.75
#: The first digest's window, and the newest papers offered when nothing is new.
DIGEST_DAYS = 7
NOUNS = ("paper", "post")
"""What the positives counted per part are called in a reason: papers, then items."""


@dataclass(frozen=True, slots=True)
class DigestWindow:
    """The window a digest (``recommend`` without dates) ranks: what is new since the last
    one sent (:meth:`RecommendMixin.mark_digest_sent`), the first time the last week."""

    since: date
    until: date
    has_new: bool
    """Whether anything stored is listed in the window."""
    newest: date | None
    """The newest listing day in the ranking index (None: it is empty)."""


class _Note(NamedTuple):
    """What the priors did to one ranked row."""

    relevance: float
    by_discussion: bool
    by_recency: bool
    discussion: float
    recency: float


class _Credit(NamedTuple):
    """What a reason needs to credit authors: the positives, and how to speak of them."""

    positives: Sequence[tuple[RankIndex, Any]]
    """``(index, rows)`` of the positives: papers first, then items."""
    verb: str = "tagged"
    """How the user chose the positives: ``"tagged"``, or ``"tagged or liked"``."""
    related_to: str | None = None
    """For related papers: the label of the one paper asked about."""


def _author_phrase(credited: Sequence[tuple[float, str, list[int]]], credit: _Credit) -> str:
    """``by Ada Lovelace, who wrote 2 papers you tagged``: the strongest names of
    ``credited`` (``(weight, name, [papers, posts] among the positives)``, best first)."""

    def count(found: list[int]) -> str:
        words = [
            f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in zip(found, NOUNS, strict=True) if n
        ]
        return " and ".join(words)

    shown = credited[:REASON_AUTHORS]
    if credit.related_to is not None:  # the one positive is the paper asked about
        names = " and ".join(name for _w, name, _c in shown)
        role = "an author" if len(shown) == 1 else "authors"
        return f"by {names} (also {role} of {credit.related_to})"
    (_w, first, found), rest = shown[0], shown[1:]
    text = f"by {first}, who wrote {count(found)} you {credit.verb}"
    for _w, name, found in rest:
        text += f", and {name} ({count(found)})"
    return text


def _trained_key(parts: Sequence[tuple[RankIndex, Any, Any]], scope: str) -> str:
    """What a trained model depends on: the feedback's rows, the indexes' shape, the config."""
    from mlradar._rank.profile import TRAINED_FORMAT

    digest = hashlib.sha256(f"{TRAINED_FORMAT}\0{scope}\0".encode())
    for ix, pos, neg in parts:
        ids = ix.store.ids
        digest.update(repr((ix.config, ix.has_dense, ix.has_authors)).encode())
        digest.update(b"\0" + ids[pos].tobytes() + b"\0" + ids[neg].tobytes())
    return digest.hexdigest()[:32]


class RecommendMixin(LibraryMixin):
    # -- the digest window -------------------------------------------------------------------------

    @staticmethod
    def _today() -> date:
        """Today (UTC): the end of a digest's window.  Tests replace it."""
        return datetime.now(UTC).date()

    def digest_window(self, tag: str | None = None) -> DigestWindow:
        """What a digest would rank now: new since the last digest sent (the first time,
        the last :data:`DIGEST_DAYS` days); the last digest again when it was sent today."""
        from mlradar._rank.corpus import day_to_date

        today = self._today()
        previous = self._storage.get_user_state(self._user_id, _digest_key(tag))
        since, until = today - timedelta(days=DIGEST_DAYS - 1), today
        if previous:
            prev_since, prev_until = (date.fromisoformat(x) for x in previous.split("/"))
            if prev_until >= today:
                since, until = prev_since, prev_until  # nothing newer: that digest again
            else:
                since = prev_until + timedelta(days=1)
        ix = self._indexes()
        newest = [d for d in (ix[_PAPERS].newest_day(), ix[_ITEMS].newest_day()) if d is not None]
        has_new = any(len(ix[n].window(since, until)) for n in (_PAPERS, _ITEMS))
        return DigestWindow(since, until, has_new, day_to_date(max(newest)) if newest else None)

    def newest_window(self) -> tuple[date, date] | None:
        """The last :data:`DIGEST_DAYS` days of what is stored (None: nothing is): what to
        offer when a digest has nothing new, after a snapshot import say.  The papers'
        newest day when there are papers: a feed item fetched today is no newer paper."""
        from mlradar._rank.corpus import day_to_date

        day = self._indexes()[_PAPERS].newest_day()
        newest = day_to_date(day) if day is not None else self.digest_window().newest
        if newest is None:
            return None
        return (newest - timedelta(days=DIGEST_DAYS - 1), newest)

    def mark_digest_sent(self, tag: str | None = None, *, window: tuple[date, date]) -> None:
        """Record that the digest of ``window`` was shown: the next digest starts after it."""
        since, until = window
        if since > until:
            raise InvalidInputError("the window starts after it ends")
        if tag is not None:
            _check_tag(tag)
        self._storage.set_user_state(self._user_id, _digest_key(tag), f"{since}/{until}")

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

    def recommend(
        self,
        *,
        tag: str | None = None,
        since: date | None = None,
        until: date | None = None,
        limit: int = 20,
    ) -> list[Recommendation]:
        """Rank what was listed in a window by what the user tagged, liked and dismissed.

        Without dates the window is :meth:`digest_window` (empty when nothing is new in
        it); showing a digest does not move its marker: call :meth:`mark_digest_sent`.
        ``tag`` learns from one tag only; otherwise from every tag and like.  What the
        ranking index holds is ranked (``mlradar index`` adds what it lacks).
        """
        from mlradar._rank.index import rank_all

        _check_limit(limit)
        if since is not None and until is not None and since > until:
            raise InvalidInputError("--since is after --until")
        positives, negatives, seen, with_likes = self._feedback(tag)
        if not positives:
            raise InvalidInputError(
                "nothing to learn from yet: tag or like a few papers first (mlradar tag add ...)"
            )
        if since is None and until is None:
            digest = self.digest_window(tag)
            if not digest.has_new:
                return []
            window = (digest.since, digest.until)
        else:
            window = (since or date(1970, 1, 1), until or date(9999, 12, 31))
        ix = self._indexes()
        pos_order, pos_p, pos_i = self._rows_of(positives)
        if not pos_order:
            raise NotFoundError(
                "none of the tagged or liked papers is in the ranking index yet: "
                "run `mlradar index`"
            )
        _neg_order, neg_p, neg_i = self._rows_of(negatives)
        profile = self._profile(
            [(ix[_PAPERS], pos_p, neg_p), (ix[_ITEMS], pos_i, neg_i)], f"{tag or '*'}"
        )
        parts = [
            (ix[_PAPERS], self._candidates(_PAPERS, window, seen)),
            (ix[_ITEMS], self._candidates(_ITEMS, window, seen)),
        ]
        shortlist = rank_all(profile, parts)
        ranked, notes, discussed, lifted = self._apply_signals(shortlist, window, limit * 2)
        credit = _Credit(
            [(ix[_PAPERS], pos_p), (ix[_ITEMS], pos_i)],
            "tagged or liked" if with_likes else "tagged",
        )
        return self._to_recommendations(
            ranked,
            pos_order,
            profile,
            limit,
            notes,
            discussed,
            lifted,
            credit,
            dense=shortlist.dense,
        )

    def _profile(self, parts: list[tuple[RankIndex, Any, Any]], scope: str) -> Profile:
        """The user's model, trained once per feedback (``scope``: the tag, or all).

        Kept in memory (a web process serving the same user again), and its trained part
        in ``<rank dir>/models/`` for the next process: a CLI call trains only when the
        feedback (or the index's kind: embeddings, author rows) changed.  That file is a
        cache, written atomically; when it cannot be written the model is still used.
        """
        from mlradar._rank.profile import Trained, load_trained, profile_of, save_trained

        key = _trained_key(parts, scope)
        shape = tuple((ix.store.meta.rows, ix.store.meta.dense_rows) for ix, _, _ in parts)
        cache = self._profile_cache
        if cache is None:
            cache = self._profile_cache = {}
        hit = cache.get((key, shape))
        if hit is not None:
            return hit
        path = self._rank_root() / "models" / f"{key}.npz"
        trained = load_trained(path)
        profile = profile_of(parts, trained=trained)
        if trained is None:
            try:
                save_trained(path, Trained.of(profile))
            except OSError as exc:
                log.info("cannot cache the trained model in %s: %s", path, exc)
        if len(cache) >= PROFILE_CACHE:
            cache.pop(next(iter(cache)))
        cache[(key, shape)] = profile
        return profile

    def _candidates(self, name: str, window: tuple[date, date], seen: set[Ref]) -> Any:
        import numpy as np

        index = self._indexes()[name]
        rows = index.window(*window)
        if not len(rows):
            return rows
        if name == _PAPERS:
            drop = index.rows_of([int(r) for k, r in seen if k == "paper"])
        else:
            drop = index.rows_of([int(r) for k, r in seen if k == "item"])
        return np.setdiff1d(rows, drop, assume_unique=False)

    def _signal_config(self) -> Any:
        from mlradar._rank.signals import SignalConfig

        st = self._settings
        return SignalConfig(
            discussion_weight=st.rank_discussion_weight,
            recency_weight=st.rank_recency_weight,
            recency_half_life_days=st.rank_recency_half_life_days,
        )

    def _discussion(self, paper_ids: Sequence[int]) -> dict[int, Discussion]:
        """Who discusses each paper (by database id); papers nobody names get the empty record."""
        from mlradar._rank.signals import Discussion, MentionRow, summarize_discussion

        if not paper_ids:
            return {}
        rows = [MentionRow(*r) for r in self._storage.mention_rows(paper_ids, self._user_id)]
        # The stories add the items that name a paper only through its story (a thread
        # linking its PDF), and the points and comments of each.
        rows += [MentionRow(*r) for r in self._storage.story_mention_rows(paper_ids, self._user_id)]
        found = summarize_discussion(rows)
        return {i: found.get(i, Discussion()) for i in paper_ids}

    def _apply_signals(
        self, shortlist: Shortlist, window: tuple[date, date], need: int
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
        import numpy as np

        from mlradar._rank.corpus import day_number
        from mlradar._rank.index import channel_lifted
        from mlradar._rank.signals import rerank, shortlist_is_enough

        cfg = self._signal_config()
        ix = self._indexes()
        indexes = (ix[_PAPERS], ix[_ITEMS])  # the part numbers recommend() ranks with
        discussed: dict[int, Discussion] = {}
        depth = max(cfg.depth, need)
        # The priors' recency is relative to the window's newest listing, not its end
        # (an open-ended window ends in the year 9999).
        newest = [d for d in (ix[_PAPERS].newest_day(), ix[_ITEMS].newest_day()) if d is not None]
        last_day = min(day_number(window[1]), max(newest)) if newest else day_number(window[1])
        while True:
            top = shortlist.take(depth)
            papers = [r.db_id for part, r in top if part == 0]
            discussed.update(self._discussion([i for i in papers if i not in discussed]))
            # Items have no discussion signal: nothing stored says who shares a blog post.
            places = [discussed[r.db_id].weight if part == 0 else 0.0 for part, r in top]
            parts = np.array([part for part, _ in top], dtype=np.int64)
            rows = np.array([r.row for _, r in top], dtype=np.int64)
            days = np.zeros(len(top), dtype=np.int64)
            for k, index in enumerate(indexes):
                if np.any(parts == k):
                    days[parts == k] = index.days_of(rows[parts == k])
            result = rerank(
                [r.score for _, r in top], places, days, last_day, shortlist.spread, cfg
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
        by_authors = channel_lifted(top, "authors")
        ranked: list[tuple[int, Ranked]] = []
        notes: dict[tuple[int, int], _Note] = {}
        lifted: set[tuple[int, int]] = set()
        for n, i in enumerate(shown):
            part, r = top[int(i)]
            ranked.append((part, replace(r, score=float(result.score[i]))))
            notes[(part, r.db_id)] = _Note(
                r.score,
                bool(by_discussion[n]),
                bool(by_recency[n]),
                float(result.discussion[i]),
                float(result.recency[i]),
            )
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
        *,
        dense: bool = False,
    ) -> list[Recommendation]:
        """Records with reasons for the rows shown (the first ``limit`` that resolve);
        ``lifted`` names the ``(part, db id)`` rows whose authors lifted them, credited in
        their reasons as ``credit`` says.  ``dense``: similarities are embeddings'."""
        import numpy as np

        from mlradar._rank.corpus import day_to_date
        from mlradar._rank.index import doc_text
        from mlradar._rank.models import CHANNELS
        from mlradar._rank.signals import Discussion, describe_places

        ix = self._indexes()
        notes = notes or {}
        shown = list(ranked)[: limit + 5]  # a few spare: rows that no longer resolve
        paper_ids = [r.db_id for part, r in shown if part == 0]
        item_ids = [r.db_id for part, r in shown if part == 1]
        papers = self._storage.papers_by_db_ids(paper_ids)
        arxiv_ids = [papers[i][0] for i in paper_ids if i in papers]
        full = {p.arxiv_id: p for p in self._storage.papers_by_ids(arxiv_ids)}
        items = self._storage.items_brief(item_ids)
        items_named = self._storage.arxiv_ids_of_items(item_ids)
        resolved = [
            (part, r)
            for part, r in shown
            if (part == 0 and r.db_id in papers)
            or (part == 1 and r.db_id in items and r.db_id not in items_named)
        ][:limit]
        credited = self._credited_authors(
            resolved,
            lifted,
            credit,
            profile,
            {i: full[a].authors for i, (a, _t) in papers.items() if a in full},
        )
        naming = self._storage.items_naming(arxiv_ids)
        talk = dict(discussed or {})
        talk.update(
            self._discussion([r.db_id for p, r in resolved if p == 0 and r.db_id not in talk])
        )
        pos_titles = self._titles(list(pos_order))
        labels = self._labels(list(pos_order))
        # Shared terms for every row shown, one product per index.
        texts: dict[tuple[int, int], str] = {}
        for part, r in resolved:
            if part == 0:
                found_paper = full.get(papers[r.db_id][0])
                abstract = found_paper.abstract if found_paper else ""
                texts[(part, r.db_id)] = doc_text(papers[r.db_id][1], abstract)
            else:
                texts[(part, r.db_id)] = items[r.db_id][0]
        terms: dict[tuple[int, int], tuple[SharedTerm, ...]] = {}
        for part, name in enumerate((_PAPERS, _ITEMS)):
            mine = [(p, r) for p, r in resolved if p == part]
            if mine:
                rows = np.array([r.row for _, r in mine], dtype=np.int64)
                found = ix[name].shared_terms(rows, [texts[(p, r.db_id)] for p, r in mine], profile)
                terms.update({(p, r.db_id): t for (p, r), t in zip(mine, found, strict=True)})
        threshold = LIKE_THRESHOLD_DENSE if dense else LIKE_THRESHOLD_LEXICAL
        out: list[Recommendation] = []
        for part, r in resolved:
            key = (part, r.db_id)
            nearest = pos_order[r.nearest] if r.nearest < len(pos_order) else None
            note = notes.get(key)
            shared = terms.get(key, ())
            names, author_text = credited.get(key, ((), None))
            contributions = tuple(zip(CHANNELS, r.contributions, strict=True))
            if note is not None:
                contributions += (("discussion", note.discussion), ("recency", note.recency))
            signals = []
            arxiv_id: str | None = None
            if part == 0:
                arxiv_id, title = papers[r.db_id]
                paper = full.get(arxiv_id)
                talked = talk.get(r.db_id, Discussion())
                day = paper.first_version_at if paper else None
                if note is not None and note.by_discussion and talked.places:
                    signals.append(describe_places(talked.places))
                if note is not None and note.by_recency and day is not None:
                    signals.append(f"newer in the window (listed {day.isoformat()})")
                url: str | None = f"https://arxiv.org/abs/{arxiv_id}"
            else:
                title, url = items[r.db_id]
                talked, day = Discussion(), None
                if note is not None and note.by_recency:
                    listed = day_to_date(int(ix[_ITEMS].store.days[r.row]))
                    signals.append(f"newer in the window (dated {listed.isoformat()})")
            like = nearest if nearest is not None and r.nearest_sim >= threshold else None
            out.append(
                Recommendation(
                    kind="paper" if part == 0 else "item",
                    arxiv_id=arxiv_id,
                    item_id=naming.get(arxiv_id) if arxiv_id else r.db_id,
                    title=title,
                    score=round(r.score, 4),
                    reason=_reason(
                        dict(zip(CHANNELS, r.contributions, strict=True)),
                        like,
                        pos_titles,
                        r.nearest_sim,
                        shared,
                        author_text,
                        signals,
                        credit.verb if credit else "tagged",
                        labels,
                    ),
                    url=url,
                    date=day,
                    terms=tuple(t.term for t in shared),
                    similar_to=(_ref_label(nearest, labels),) if nearest else (),
                    mentions=talked.items,
                    discussed_in=talked.places,
                    relevance=None if note is None else round(note.relevance, 4),
                    by_authors=names,
                    similarity=round(r.nearest_sim, 4) if nearest else None,
                    term_weights=tuple(round(t.share, 4) for t in shared),
                    contributions=tuple((c, round(v, 4)) for c, v in contributions),
                )
            )
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
        the two strongest) and the reason's phrase for them.

        Names come from the database, for the rows shown only; they are matched to the
        positives through the hashed columns the ranking used.
        """
        import numpy as np

        from mlradar._rank.index import author_columns

        rows = [(part, r) for part, r in ranked if (part, r.db_id) in lifted]
        if not rows or credit is None or profile.author_weights is None:
            return {}
        item_names = self._storage.item_authors([r.db_id for part, r in rows if part == 1])
        # The positives' hashed names, per part (papers, items): few, so counted by scan.
        per_part = [
            ix.authors(pos).indices if len(pos) and ix.has_authors else np.zeros(0, np.int32)
            for ix, pos in credit.positives
        ]
        out: dict[tuple[int, int], tuple[tuple[str, ...], str | None]] = {}
        for part, r in rows:
            names = list(
                paper_authors.get(r.db_id, ()) if part == 0 else item_names.get(r.db_id, ())
            )
            columns = author_columns(names)
            found: dict[int, tuple[float, str, list[int]]] = {}
            for name, col in zip(names, columns, strict=True):
                counts = [int(np.count_nonzero(c == col)) for c in per_part] if col >= 0 else []
                weight = float(profile.author_weights[col]) if col >= 0 else 0.0
                # A name on every paper weighs nothing: it lifted nothing, so no credit.
                if sum(counts) and weight > 0 and int(col) not in found:
                    found[int(col)] = (weight, name, counts)
            if not found:
                continue
            best = sorted(found.values(), key=lambda f: -f[0])[:REASON_AUTHORS]
            credited = tuple(name for _w, name, _c in best)
            out[(part, r.db_id)] = (credited, _author_phrase(best, credit))
        return out

    # -- related ---------------------------------------------------------------------------------

    def related(self, ident: str, *, limit: int = 10) -> list[Recommendation]:
        """The stored papers most like one paper or item (by the same features as recommend)."""
        import numpy as np

        from mlradar._rank.index import channel_lifted, profile_of, rank_all

        _check_limit(limit)
        ref = self._resolve(ident)
        order, p_rows, i_rows = self._rows_of([ref])
        if not order:
            raise NotFoundError(
                f"{ident} is not in the ranking index "
                "(import or fetch it, then run `mlradar index`)"
            )
        ix = self._indexes()
        profile = profile_of(
            [(ix[_PAPERS], p_rows, p_rows[:0]), (ix[_ITEMS], i_rows, i_rows[:0])],
            _related_config(),
        )
        candidates = np.setdiff1d(ix[_PAPERS].related_candidates(profile), p_rows)
        # More than shown, to tell which rows their authors lifted into the list.
        shortlist = rank_all(profile, [(ix[_PAPERS], candidates)])
        top = shortlist.take(2 * limit)
        by_authors = channel_lifted(top, "authors")
        lifted = {(part, r.db_id) for (part, r), up in zip(top, by_authors, strict=True) if up}
        credit = _Credit(
            [(ix[_PAPERS], p_rows), (ix[_ITEMS], i_rows)],
            related_to=_ref_label(ref, self._labels([ref])),
        )
        return self._to_recommendations(
            top, order, profile, limit, lifted=lifted, credit=credit, dense=shortlist.dense
        )


def _related_config() -> Any:
    """One paper is no topic to learn: similarity alone, no linear model to train, no
    blend to fit.  Its authors count as for recommendations (the default weight): a
    paper by the same rare authors is related, all else being about equal."""
    from mlradar._rank.models import RankConfig

    return RankConfig(linear_weight=0.0, learn_blend=False)


def _digest_key(tag: str | None) -> str:
    return f"digest:{tag or '*'}"


def _reason(
    contributions: Mapping[str, float],
    like: Ref | None,
    titles: Mapping[Ref, str],
    sim: float,
    shared: Sequence[SharedTerm],
    authors: str | None,
    signals: Sequence[str],
    verb: str,
    labels: Mapping[Ref, str] | None = None,
) -> str:
    """One line, strongest evidence first: each channel that added to the score says so in
    the user's terms, ordered by what it added; then the priors that moved the row."""
    text_part = contributions.get("lexical_linear", 0.0) + contributions.get("dense_linear", 0.0)
    near_part = contributions.get("lexical", 0.0) + contributions.get("dense", 0.0)
    parts: list[tuple[float, str]] = []
    if like is not None:
        title = titles.get(like, "")
        short = title if len(title) <= 60 else title[:57] + "..."
        label = f"like {_ref_label(like, labels)} \u201c{short}\u201d"
        parts.append((near_part, f"{label} (you {verb} it; cos {sim:.2f})"))
    else:
        text_part += near_part
    if shared:
        words = ", ".join(f"{t.term} {t.share:.0%}" for t in shared)
        parts.append((text_part, f"shares {words} with your papers"))
    if authors:
        parts.append((contributions.get("authors", 0.0), authors))
    parts.sort(key=lambda p: -p[0])
    text = "; ".join(p for _w, p in parts) or "similar to your library"
    return "; ".join([text, *signals])


__all__ = ["DigestWindow", "RecommendMixin"]
