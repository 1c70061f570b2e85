"""The public records mlradar returns.

They are frozen dataclasses: values, not handles.  Times are timezone-aware UTC
``datetime`` objects; plain dates are ``date`` objects.  Optional fields are
``None`` when the source did not say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

SourceKind = Literal["feed", "arxiv", "hackernews", "reddit"]


@dataclass(frozen=True, slots=True)
class SourceState:
    """What mlradar remembers about fetching one source."""

    last_fetched_at: datetime | None = None
    last_status: int | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    next_due_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_new_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A subscription: a feed, an arXiv listing, or another connector."""

    id: int
    url: str
    kind: SourceKind
    name: str | None
    title: str | None
    home_url: str | None
    added_at: datetime
    tags: tuple[str, ...] = ()
    state: SourceState = field(default_factory=SourceState)
    item_count: int = 0

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.url


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a source: a blog post, a newsletter issue, a listed paper, a story."""

    id: int
    source_id: int
    source_name: str
    key: str
    url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    updated_at: datetime | None
    first_seen_at: datetime
    summary_html: str | None = None
    content_html: str | None = None
    categories: tuple[str, ...] = ()
    arxiv_ids: tuple[str, ...] = ()
    dois: tuple[str, ...] = ()

    @property
    def date(self) -> datetime:
        """The best date to sort by: published, else updated, else first seen."""
        return self.published_at or self.updated_at or self.first_seen_at


@dataclass(frozen=True, slots=True)
class PaperVersion:
    version: int
    created: datetime | None


@dataclass(frozen=True, slots=True)
class Paper:
    """An arXiv paper.  ``arxiv_id`` carries no version suffix."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    abstract: str
    first_version_at: date | None
    updated_at: date | None
    versions: tuple[PaperVersion, ...] = ()
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    submitter: str | None = None

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def html_url(self) -> str:
        return f"https://arxiv.org/html/{self.arxiv_id}"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: an item or a paper, with a highlighted snippet."""

    kind: Literal["item", "paper"]
    ref: str
    """The item id (as text) or the arXiv id."""
    title: str | None
    url: str | None
    snippet: str
    score: float
    source_name: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """What one update did to one source."""

    source_id: int
    url: str
    name: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    """The outcome of ``Radar.update()``: one row per source plus totals."""

    sources: tuple[SourceUpdate, ...]

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.sources)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sources if s.failed)


@dataclass(frozen=True, slots=True)
class Stats:
    sources: int
    items: int
    papers: int
    tags: int
    items_linked_to_papers: int
    failing_sources: int
