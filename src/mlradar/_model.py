"""Internal records that cross package boundaries (parser -> storage, fetcher -> updater).

Public records live in :mod:`mlradar.types`; these are not part of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from mlradar.types import CatalogKind, Level, Paper, PaperId, PaperVersion


@dataclass(frozen=True, slots=True)
class DiscussionSignal:
    """How much an entry is discussed where it was found: a Hacker News story's points and
    comments, a Reddit post's score and comments.  None where the source does not say."""

    points: int | None = None
    comments: int | None = None
    comments_url: str | None = None


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """What an item joins stories by (see :mod:`mlradar._stories.keys`): ``paper`` and
    ``link`` keys join on sight, ``near`` keys propose."""

    paper: tuple[str, ...]
    link: tuple[str, ...]
    near: tuple[str, ...]
    #: The one arXiv paper it is about, if any (a story holds at most one).
    arxiv_id: str | None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One feed entry, sanitized and normalized, ready to store."""

    key: str
    url: str | None
    link: str | None
    title: str | None
    author: str | None
    summary_html: str | None
    content_html: str | None
    text: str
    categories: tuple[str, ...]
    published_at: datetime | None
    updated_at: datetime | None
    arxiv_ids: tuple[str, ...]
    dois: tuple[str, ...]
    content_hash: str
    #: Every http(s) link the entry's content holds, canonical, in order, without repeats
    #: (stories join a post to the pages it links; a newsletter names many papers).
    links: tuple[str, ...] = ()
    #: Paper identifiers other than arXiv ids and DOIs that the entry names, as
    #: ``(scheme, value)``: ``("openreview", "abc123")``, ``("pmlr", "v235/smith24a")``.
    refs: tuple[tuple[str, str], ...] = ()
    #: Points and comments where the source counts them (HN, Reddit), else None.
    discussion: DiscussionSignal | None = None
    #: Its story keys, when the parse worker computed them (the writer then need not);
    #: they are :func:`mlradar._stories.keys.entry_keys` of this entry and its source kind.
    story_keys: ItemKeys | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    home_url: str | None
    entries: tuple[ParsedEntry, ...]
    #: A non-fatal problem the parser worked around (ill-formed XML, wrong encoding).
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class FetchState:
    """What the storage records about one fetch attempt of one source."""

    fetched_at: datetime
    status: int | None
    error: str | None
    next_due_at: datetime
    #: The connector's new state, as JSON text (None: keep the stored one).
    state: str | None = None
    title: str | None = None
    home_url: str | None = None
    #: A problem the fetch worked around; a successful fetch without one clears it.
    warning: str | None = None
    #: Not fetched at all (its host asked for a pause): only ``next_due_at`` and the note in
    #: ``warning`` are recorded; the error count, status and state stay as they were.
    deferred: bool = False


class TextRow(NamedTuple):
    """What the ranking index reads of one paper or item: storage reads these rows from
    the database and the ranking index featurizes them.

    A tuple (older callers and tests pass plain 4-tuples: :func:`as_text_row` turns
    them into rows without authors).
    """

    id: int
    """The database id."""
    title: str
    body: str
    """A paper's abstract, an item's plain text (its opening)."""
    day: date | None
    """The listing (or publication) day."""
    authors: tuple[str, ...] = ()
    """Names as stored: a paper's author list, an item's one author (or none)."""


def as_text_row(row: tuple[object, ...]) -> TextRow:
    """A :class:`TextRow` from itself or from a plain ``(id, title, body, day[, authors])``."""
    if isinstance(row, TextRow):
        return row
    return TextRow(*row)  # type: ignore[arg-type]


# -- papers as stored ---------------------------------------------------------------------------


class PaperRow(NamedTuple):
    """A paper as the ``papers`` table stores it (less id), plus the identifiers it is
    known by (``keys``, written to ``paper_ids``).

    A plain tuple: cheap to build, to pickle between processes and to bind, which matters
    when millions of them stream through a bulk import.  The domain makes rows
    (:func:`mlradar._papers.paper_row`, which hashes them); storage binds them as they are.
    """

    arxiv_id: str | None
    content_hash: str
    title: str
    authors: str
    """JSON list of names, in order."""
    categories: str
    """Space-separated, primary first."""
    abstract: str
    comments: str | None
    journal_ref: str | None
    doi: str | None
    report_no: str | None
    license: str | None
    submitter: str | None
    versions: str
    """JSON list of ``[number, ISO datetime or null]``."""
    first_version_at: date | None
    updated_at: date | None
    venue: str | None
    url: str | None
    pdf: str | None
    ids: str | None
    """JSON list of ``[scheme, value]``: the record's identifiers besides arXiv and DOI."""
    title_key: str | None
    """Its folded title and first author's surname (:func:`mlradar._papers.title_key`):
    how a record without a shared identifier still finds its paper."""
    keys: tuple[PaperId, ...]
    """Every identifier it is found by (normalized): not a column."""


#: The columns of :class:`PaperRow`, in order (``keys`` is not one).
PAPER_COLUMNS: tuple[str, ...] = PaperRow._fields[:-1]


def _versions_json(versions: Sequence[PaperVersion]) -> str:
    return orjson.dumps(
        [[v.version, v.created.isoformat() if v.created else None] for v in versions]
    ).decode()


def _versions_from_json(value: str | None) -> tuple[PaperVersion, ...]:
    if not value:
        return ()
    return tuple(
        PaperVersion(int(number), datetime.fromisoformat(created) if created else None)
        for number, created in orjson.loads(value)
    )


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def paper_columns(
    paper: Paper,
    content_hash: str,
    keys: tuple[PaperId, ...],
    title_key: str | None = None,
) -> PaperRow:
    """The stored form of ``paper`` (its hash, keys and title key made by the caller)."""
    others = [list(i) for i in paper.ids]
    return PaperRow(
        arxiv_id=paper.arxiv_id,
        content_hash=content_hash,
        title=paper.title,
        authors=orjson.dumps(paper.authors).decode(),
        categories=" ".join(paper.categories),
        abstract=paper.abstract,
        comments=paper.comments,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        report_no=paper.report_no,
        license=paper.license,
        submitter=paper.submitter,
        versions=_versions_json(paper.versions),
        first_version_at=paper.first_version_at,
        updated_at=paper.updated_at,
        venue=paper.venue,
        url=paper.url,
        pdf=paper.pdf,
        ids=orjson.dumps(others).decode() if others else None,
        title_key=title_key,
        keys=keys,
    )


def paper_from_columns(row: Any, paper_id: int | None = None) -> Paper:
    """The record of a ``papers`` row: a database row or a :class:`PaperRow`."""
    raw_ids = getattr(row, "ids", None)
    return Paper(
        arxiv_id=row.arxiv_id,
        title=row.title,
        authors=tuple(orjson.loads(row.authors)) if row.authors else (),
        categories=tuple(row.categories.split()) if row.categories else (),
        abstract=row.abstract,
        first_version_at=_day(row.first_version_at),
        updated_at=_day(row.updated_at),
        versions=_versions_from_json(row.versions),
        comments=row.comments,
        journal_ref=row.journal_ref,
        doi=row.doi,
        license=row.license,
        submitter=row.submitter,
        report_no=row.report_no,
        venue=getattr(row, "venue", None),
        ids=tuple(PaperId(str(s), str(v)) for s, v in orjson.loads(raw_ids)) if raw_ids else (),
        url=getattr(row, "url", None),
        pdf=getattr(row, "pdf", None),
        id=paper_id,
    )


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """What storage says of a stored paper that an incoming one may be: enough to decide
    without reading the whole record."""

    id: int
    content_hash: str
    keys: tuple[PaperId, ...]
    stub: bool = False


@dataclass(frozen=True, slots=True)
class PaperPlan:
    """The writes one batch of papers comes to, decided by :mod:`mlradar._papers`."""

    inserts: tuple[PaperRow, ...] = ()
    updates: tuple[tuple[int, PaperRow], ...] = ()
    """``(stored id, its new row)``: the row's keys are added to the id's."""
    folds: tuple[tuple[int, int], ...] = ()
    """``(merged-away id, kept id)``: two stored papers found to be one.  What refers to the
    first (library entries, identifiers) moves to the second, then the first is deleted."""
    updated: int = 0
    """Incoming records that changed a stored paper (two may change one)."""
    unchanged: int = 0

    @property
    def counts(self) -> StoreCounts:
        return StoreCounts(len(self.inserts), self.updated, self.unchanged)


# -- the catalog ---------------------------------------------------------------------------------

#: The origin of the entries that come with mlradar (others name the list they came from).
BUILTIN_ORIGIN = "builtin"


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """An entry as the storage writes it: one of the built-in catalog, or an imported one.

    ``slug`` is the wanted id (an imported entry's name; storage makes it unique);
    ``position`` the curated order of built-in entries; ``keys`` the ``(match key, URL)``
    pairs under which it is found, made by :func:`mlradar._catalog.model.keyed`.
    """

    url: str
    slug: str
    name: str
    kind: CatalogKind
    topics: tuple[str, ...]
    level: Level | None
    description: str | None
    feed_url: str | None
    builtin: bool
    origin: str
    heading_path: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    retired: str | None = None
    position: int | None = None
    keys: tuple[tuple[str, str], ...] = ()


# -- stories -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryInput:
    """An item as the story join sees it: written (new or changed) in this transaction."""

    item_id: int
    source_id: int
    source_kind: str
    title: str | None
    #: The opening of its plain text (near-duplicates compare it).
    text: str
    url: str | None
    link: str | None
    #: Its date: published, else first seen.
    seen_at: datetime
    arxiv_ids: tuple[str, ...] = ()
    dois: tuple[str, ...] = ()
    refs: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()
    #: Whether its source counts discussion (an HN or Reddit post): such a post is about
    #: the page it links.
    discussed: bool = False
    #: The story it is in already (a changed item), if any.
    story_id: int | None = None
    #: Its keys, computed where it was parsed (None: the join computes them).
    keys: ItemKeys | None = None


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A stored item of a candidate story, for the near-duplicate check."""

    story_id: int
    item_id: int
    source_id: int
    title: str | None
    text: str


@dataclass(frozen=True, slots=True)
class StoryHead:
    """What a story row holds besides its members.  ``id`` below zero: a story this plan
    creates (``-1`` is its first new story)."""

    id: int
    title: str | None
    #: Lower is better: where the title came from (see mlradar._stories.title_rank).
    title_rank: int
    url: str | None
    arxiv_id: str | None
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class StoryPlan:
    """The story writes one batch of items comes to, decided by :mod:`mlradar._stories`.
    Story ids below zero name the plan's new stories (``-1 - index`` in ``new``)."""

    new: tuple[StoryHead, ...] = ()
    #: Stored stories whose head changed.
    heads: tuple[StoryHead, ...] = ()
    #: ``(merged-away id, kept id)``: its members and keys move, then it is deleted.
    merges: tuple[tuple[int, int], ...] = ()
    #: ``(item id, story id)``.
    members: tuple[tuple[int, int], ...] = ()
    #: ``(lookup key, story id)``: keys the stories did not hold yet.
    keys: tuple[tuple[str, int], ...] = ()
