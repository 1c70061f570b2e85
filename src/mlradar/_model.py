"""Internal records that cross package boundaries (parser -> storage, fetcher -> updater).

Public records live in :mod:`mlradar.types`; these are not part of the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from mlradar.types import Paper


@dataclass(frozen=True, slots=True)
class DiscussionSignal:
    """How much an entry is discussed where it was found: a Hacker News story's points and
    comments, a Reddit post's score and comments.  None where the source does not say."""

    points: int | None = None
    comments: int | None = None
    comments_url: str | None = None


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
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    home_url: str | None = None


@dataclass(frozen=True, slots=True)
class SourceFetch:
    """What a connector (a source kind other than plain feeds) hands back to the updater.

    ``feed`` is None when the source answered "not modified".  ``papers`` are arXiv
    records to upsert alongside the entries (a listing source knows full metadata).
    """

    feed: ParsedFeed | None
    papers: tuple[Paper, ...] = ()
    status: int | None = 200
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: float | None = None


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
