"""Internal records that cross package boundaries (parser -> storage, fetcher -> updater).

Public records live in :mod:`mlradar.types`; these are not part of the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlradar.types import Paper


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
