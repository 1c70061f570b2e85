"""Two records of one paper become one; a batch of incoming records becomes a write plan."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import orjson

from mlradar._model import PaperPlan, PaperRow, StoredPaper, paper_columns, paper_from_columns
from mlradar._papers.identity import STRONG_SCHEMES, paper_keys, title_key
from mlradar.types import Paper, PaperId, PaperVersion

#: The fields a paper record had before it could come from outside arXiv.  A record's hash
#: covers them always, and the later ones only when set, so the hashes of every paper
#: stored before those fields existed stay what they were (re-importing stays a no-op).
_LEGACY_FIELDS = (
    "arxiv_id",
    "title",
    "authors",
    "categories",
    "abstract",
    "first_version_at",
    "updated_at",
    "versions",
    "comments",
    "journal_ref",
    "doi",
    "license",
    "submitter",
    "report_no",
)
_LATER_FIELDS = ("venue", "ids", "url", "pdf")


def paper_hash(paper: Paper) -> str:
    """A digest of everything a paper record says: equal hashes, nothing to update.

    The internal ``id`` is not part of what a record says.
    """
    value: dict[str, Any] = {name: getattr(paper, name) for name in _LEGACY_FIELDS}
    for name in _LATER_FIELDS:
        if getattr(paper, name):
            value[name] = getattr(paper, name)
    if paper.ids:  # orjson writes no NamedTuple
        value["ids"] = [list(i) for i in paper.ids]
    return hashlib.sha256(orjson.dumps(value)).hexdigest()


def paper_row(paper: Paper) -> PaperRow:
    """The stored form of ``paper``: its columns, its hash, its identifiers and title key."""
    return paper_columns(
        paper, paper_hash(paper), paper_keys(paper), title_key(paper.title, paper.authors)
    )


def _merge_versions(
    old: Sequence[PaperVersion], new: Sequence[PaperVersion]
) -> tuple[PaperVersion, ...]:
    dates: dict[int, datetime | None] = {v.version: v.created for v in old}
    for v in new:
        if v.created is not None or v.version not in dates:
            dates[v.version] = v.created
    return tuple(PaperVersion(n, dates[n]) for n in sorted(dates))


def _earliest(a: date | None, b: date | None) -> date | None:
    return min(a, b) if a and b else a or b


def _latest(a: date | None, b: date | None) -> date | None:
    return max(a, b) if a and b else a or b


def _merge_ids(old: Sequence[PaperId], new: Sequence[PaperId]) -> tuple[PaperId, ...]:
    """``new``'s identifiers, then the old ones of schemes ``new`` does not give."""
    schemes = {i.scheme for i in new}
    return (*dict.fromkeys(new), *(i for i in dict.fromkeys(old) if i.scheme not in schemes))


def merge_papers(old: Paper, new: Paper) -> Paper:
    """What is known about one paper after reading ``new`` on top of ``old``.

    Sources differ in what they carry (a listing has no journal-ref, OAI's ``arXiv`` format
    no version dates, OpenReview no arXiv categories), so a field ``new`` leaves empty
    keeps its old value; a field ``new`` does give replaces the old one.  Versions are
    united; the first-version date is the earliest known, the update date the latest.
    The caller has checked that the two are one paper (:func:`same_paper`).
    """
    if old.arxiv_id and new.arxiv_id and old.arxiv_id != new.arxiv_id:
        raise ValueError(f"cannot merge {old.arxiv_id} into {new.arxiv_id}")
    return replace(
        new,
        arxiv_id=new.arxiv_id or old.arxiv_id,
        title=new.title or old.title,
        authors=new.authors or old.authors,
        categories=new.categories or old.categories,
        abstract=new.abstract or old.abstract,
        versions=_merge_versions(old.versions, new.versions),
        first_version_at=_earliest(old.first_version_at, new.first_version_at),
        updated_at=_latest(old.updated_at, new.updated_at),
        comments=new.comments or old.comments,
        journal_ref=new.journal_ref or old.journal_ref,
        doi=new.doi or old.doi,
        license=new.license or old.license,
        submitter=new.submitter or old.submitter,
        report_no=new.report_no or old.report_no,
        venue=new.venue or old.venue,
        ids=_merge_ids(old.ids, new.ids),
        url=new.url or old.url,
        pdf=new.pdf or old.pdf,
        id=old.id if old.id is not None else new.id,
    )


def conflicts(a: Iterable[PaperId], b: Iterable[PaperId]) -> bool:
    """Whether two sets of identifiers cannot be one paper's: a strong scheme with two
    different values."""
    strong_a = {k.scheme: k.value for k in a if k.scheme in STRONG_SCHEMES}
    return any(k.scheme in strong_a and strong_a[k.scheme] != k.value for k in b)


def _merged_row(rows: Sequence[PaperRow]) -> PaperRow:
    """One row from several records of one paper, oldest first."""
    paper = paper_from_columns(rows[0])
    for row in rows[1:]:
        paper = merge_papers(paper, paper_from_columns(row))
    return _with_keys(paper_row(paper), *(r.keys for r in rows))


def _with_keys(row: PaperRow, *key_sets: Iterable[PaperId]) -> PaperRow:
    keys: dict[PaperId, None] = dict.fromkeys(row.keys)
    for ks in key_sets:
        keys.update(dict.fromkeys(ks))
    return row._replace(keys=tuple(keys))


def _group(rows: Iterable[PaperRow]) -> list[PaperRow]:
    """Records of one batch that share an identifier (without conflict) merged into one,
    in order of first appearance.  Listings repeat papers, and a newsletter batch may name
    one paper by its arXiv id and its DOI."""
    groups: list[list[PaperRow]] = []
    owner: dict[PaperId, int] = {}
    for row in rows:
        found = [owner[k] for k in row.keys if k in owner]
        target = next(
            (g for g in found if not conflicts(groups[g][0].keys, row.keys)),
            None,
        )
        if target is None:
            target = len(groups)
            groups.append([row])
        elif groups[target][-1].content_hash != row.content_hash:
            groups[target].append(row)
        for k in row.keys:
            owner.setdefault(k, target)
    return [g[0] if len(g) == 1 else _merged_row(g) for g in groups]


Loader = Callable[[Sequence[int]], Mapping[int, PaperRow]]

#: Folded titles shorter than this (``editorial|smith``, ``grokking|power``) join no paper
#: by title: too many different papers could share them.
MIN_TITLE_KEY_CHARS = 12


def title_match(
    row: PaperRow, matches: Mapping[PaperId, int], stored: Mapping[int, StoredPaper]
) -> int | None:
    """The stored paper ``row`` is by its normalized title and first author's surname,
    when no identifier joined it to one: an ICLR paper without its arXiv id, and the
    arXiv record of it.

    ``matches`` holds the paper storage found under ``PaperId("title", key)``.  No join
    when the title is too short to tell papers apart, or when the two disagree on a
    strong identifier (two arXiv papers of the same title by the same first author, a
    paper and its erratum, stay two).
    """
    key = row.title_key
    if not key or len(key.partition("|")[0]) < MIN_TITLE_KEY_CHARS:
        return None
    pid = matches.get(PaperId("title", key))
    if pid is None or pid not in stored or conflicts(stored[pid].keys, row.keys):
        return None
    return pid


def plan_paper_writes(
    incoming: Iterable[PaperRow],
    matches: Mapping[PaperId, int],
    stored: Mapping[int, StoredPaper],
    load: Loader,
) -> PaperPlan:
    """What to write for a batch of incoming records.

    ``matches`` says which stored paper holds each identifier of the batch, ``stored``
    describes those papers, and ``load`` reads the full rows of the ones that must be
    merged.  An incoming record equal to its stored paper (same hash) costs nothing; one
    sharing identifiers with two stored papers folds them into the older; one sharing
    none joins the paper of its title and first author (:func:`title_match`).  A record with
    no identifier at all cannot be stored and is left out.
    """
    inserts: list[PaperRow] = []
    pending: list[tuple[PaperRow, list[int]]] = []
    claimed: set[PaperId] = set()
    unchanged = 0
    for row in _group(incoming):
        if not row.keys:
            continue
        same: list[int] = []
        for key in row.keys:
            pid = matches.get(key)
            if pid is not None and pid not in same and not conflicts(stored[pid].keys, row.keys):
                same.append(pid)
        if not same:
            by_title = title_match(row, matches, stored)
            if by_title is not None:
                same.append(by_title)
        if not same:
            # A key another paper holds stays with it: one (scheme, value) names one row.
            drop = {k for k in row.keys if k in matches or k in claimed}
            if drop:
                row = row._replace(keys=tuple(k for k in row.keys if k not in drop))
            claimed.update(row.keys)
            inserts.append(row)
            continue
        if len(same) == 1 and stored[same[0]].content_hash == row.content_hash:
            unchanged += 1
            continue
        pending.append((row, sorted(same)))
    if not pending:
        return PaperPlan(inserts=tuple(inserts), unchanged=unchanged)

    current = dict(load(sorted({pid for _, ids in pending for pid in ids})))
    alias: dict[int, int] = {}  # folded id -> the id it went into
    changed: dict[int, PaperRow] = {}
    folds: list[tuple[int, int]] = []
    updated = 0
    for row, found in pending:
        ids = sorted({_follow(alias, pid) for pid in found})
        keep, *away = ids
        rows = [current[pid] for pid in ids if pid in current]
        merged = _merged_row([*rows, row]) if rows else row
        # Keys a third, conflicting paper holds are not taken over.
        foreign = {k for k in merged.keys if _follow(alias, matches.get(k, keep)) not in ids}
        if foreign:
            merged = merged._replace(keys=tuple(k for k in merged.keys if k not in foreign))
        before = changed.get(keep)
        if not away and before is None and merged.content_hash == stored[keep].content_hash:
            unchanged += 1
            continue
        if not away and before is not None and merged.content_hash == before.content_hash:
            unchanged += 1
            continue
        current[keep] = changed[keep] = merged
        updated += 1
        for pid in away:
            alias[pid] = keep
            folds.append((pid, keep))
            current.pop(pid, None)
            changed.pop(pid, None)
    return PaperPlan(
        inserts=tuple(inserts),
        updates=tuple(changed.items()),
        folds=tuple(folds),
        updated=updated,
        unchanged=unchanged,
    )


def _follow(alias: Mapping[int, int], pid: int) -> int:
    while pid in alias:
        pid = alias[pid]
    return pid
