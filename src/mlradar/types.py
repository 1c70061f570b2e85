"""The public records mlradar returns.

They are frozen dataclasses: values, not handles.  Times are timezone-aware UTC
``datetime`` objects; plain dates are ``date`` objects.  Optional fields are
``None`` when the source did not say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, NamedTuple

#: The kind of a source: the ``kind`` of the connector that fetches it (``feed``,
#: ``arxiv``, ``hackernews``...).  Connectors are plug-ins, so any string may appear.
SourceKind = str


@dataclass(frozen=True, slots=True)
class User:
    """Someone with a library of their own: subscriptions, tags, likes, progress."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SourceState:
    """What mlradar remembers about fetching one source."""

    last_fetched_at: datetime | None = None
    last_status: int | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    next_due_at: datetime | None = None
    last_new_at: datetime | None = None
    last_warning: str | None = None
    """A problem the last fetch worked around (entries dropped by a cap, a wrong charset)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A subscription: a feed, an arXiv listing, or another connector's source.

    ``name`` and ``tags`` are the subscribing user's (the same source may be followed by
    several users under other names); read through the core, without a user, they are
    empty.
    """

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
    source_kind: SourceKind = "feed"
    points: int | None = None
    """Its points or score where its source counts them (Hacker News, Reddit)."""
    comments: int | None = None
    comments_url: str | None = None
    """Where it is discussed (the HN thread, the Reddit comments)."""

    @property
    def date(self) -> datetime:
        """The best date to sort by: published, else updated, else first seen."""
        return self.published_at or self.updated_at or self.first_seen_at


@dataclass(frozen=True, slots=True)
class PaperVersion:
    version: int
    created: datetime | None


#: Identifier schemes a paper can be known by.  ``arxiv`` (versionless) and ``doi``
#: (lowercased) come from the record's own fields; the others from where it was found.
#: ``title`` is the weak key of a paper known by nothing else: its normalized title and
#: first author, see :mod:`mlradar._papers`.
PaperScheme = Literal["arxiv", "doi", "openreview", "pmlr", "s2", "dblp", "acl", "title"]


class PaperId(NamedTuple):
    """One identifier of a paper: ``PaperId("openreview", "HkxYzAb")``."""

    scheme: str
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


@dataclass(frozen=True, slots=True)
class Paper:
    """A research paper: on arXiv (``arxiv_id``, without version suffix), or known
    elsewhere only (an OpenReview submission, a PMLR paper) with ``arxiv_id`` None.

    ``ref`` is how a user names it: the arXiv id when it has one, else ``scheme:value``.
    """

    arxiv_id: str | None
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
    report_no: str | None = None
    venue: str | None = None
    """Where it was accepted or published: ``ICLR 2025``, ``ICML 2024 (PMLR v235)``."""
    ids: tuple[PaperId, ...] = ()
    """Identifiers besides ``arxiv_id`` and ``doi`` (OpenReview, PMLR, Semantic Scholar...)."""
    url: str | None = None
    """Its landing page off arXiv (an OpenReview forum, a PMLR page), if any."""
    pdf: str | None = None
    """Its PDF off arXiv, if any."""
    id: int | None = field(default=None, compare=False)
    """The internal id, set on records read from the database (not part of the record's
    value: two equal records may have different ids before they are stored)."""

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def ref(self) -> str:
        """How the user names this paper: ``2503.11677``, ``openreview:HkxYzAb``,
        ``doi:10.1/x``, else ``paper:<id>``."""
        if self.arxiv_id:
            return self.arxiv_id
        named = [i for i in self.ids if i.scheme != "title"]
        if named:
            return str(named[0])
        if self.doi:
            return f"doi:{self.doi}"
        return f"paper:{self.id}"

    @property
    def abs_url(self) -> str | None:
        """The abstract page: arXiv's, else :attr:`url`."""
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else self.url

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else self.pdf

    @property
    def html_url(self) -> str | None:
        return f"https://arxiv.org/html/{self.arxiv_id}" if self.arxiv_id else None


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
    warning: str | None = None
    """A problem the fetch worked around (see :attr:`SourceState.last_warning`)."""
    deferred: bool = False
    """Not fetched: its host asked for a pause (``warning`` says so).  Not a failure: it is
    due again when the pause ends."""

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

    @property
    def deferred(self) -> int:
        return sum(1 for s in self.sources if s.deferred)

    @property
    def warned(self) -> int:
        """Sources whose fetch worked around a problem (entries dropped by a cap...)."""
        return sum(1 for s in self.sources if s.warning and not s.deferred)


@dataclass(frozen=True, slots=True)
class Stats:
    sources: int
    items: int
    papers: int
    tags: int
    items_linked_to_papers: int
    failing_sources: int


# -- the catalog of learning resources ------------------------------------------------------

#: What a catalog entry is.  ``article`` is one page (a blog post, a tutorial), ``list`` a
#: curated list (an awesome-list), ``event`` a conference, summer school or meetup; a
#: YouTube channel is a ``video`` with a feed.
CatalogKind = Literal[
    "blog",
    "newsletter",
    "forum",
    "course",
    "book",
    "video",
    "playlist",
    "paper",
    "tool",
    "podcast",
    "person",
    "article",
    "list",
    "event",
]
#: Who an entry suits: beginners, grad students (``intermediate``) or researchers (``advanced``).
Level = Literal["beginner", "intermediate", "advanced"]
#: The health of a catalog link: ``moved`` carries the new URL.
LinkState = Literal["ok", "moved", "gone", "unreachable"]


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The latest health check of one catalog URL."""

    status: LinkState
    checked_at: datetime
    http_status: int | None = None
    new_url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogOrigin:
    """Where an entry came from: ``builtin`` or the list it was imported from."""

    origin: str
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One curated resource: a blog, a course, a book, a paper, a tool, a person..."""

    id: int
    slug: str
    """The stable human id, as used by ``mlradar done SLUG``."""
    name: str
    url: str
    kind: CatalogKind
    topics: tuple[str, ...]
    level: Level | None
    description: str | None
    feed_url: str | None
    builtin: bool
    retired: str | None = None
    """Why the resource is known to be gone (set by the built-in catalog), else None."""
    aliases: tuple[str, ...] = ()
    """Other addresses under which lists name this resource (old homes, mirrors)."""
    origins: tuple[CatalogOrigin, ...] = ()
    link: LinkStatus | None = None

    @property
    def status(self) -> LinkState | None:
        """The best knowledge of the link's health: the latest check, else the catalog's."""
        if self.link is not None:
            return self.link.status
        return "gone" if self.retired else None

    @property
    def best_url(self) -> str:
        """Where to send a reader: the new address of a moved resource, else ``url``."""
        if self.link is not None and self.link.status == "moved" and self.link.new_url:
            return self.link.new_url
        return self.url


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """The outcome of checking one entry's URL."""

    slug: str
    url: str
    link: LinkStatus


@dataclass(frozen=True, slots=True)
class CatalogImport:
    """What importing one Markdown list did."""

    origin: str
    found: int
    """Distinct resources found in the list."""
    added: int
    merged: int
    """Found entries that were already in the catalog (they gain this origin)."""
    slugs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """What importing one OPML file did."""

    feeds: int
    added: int
    existing: int
    folders: int
    skipped: tuple[str, ...] = ()
    """One line per outline that was not imported, with the reason."""


@dataclass(frozen=True, slots=True)
class ProfileInit:
    """What ``init --profile`` did: the catalog loaded and the sources subscribed."""

    profile: str
    catalog_entries: int
    subscribed: tuple[str, ...]
    """Slugs of the catalog entries whose feed was newly subscribed."""
    already_subscribed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a learning path."""

    position: int
    stage: str
    slug: str
    name: str
    kind: CatalogKind
    level: Level | None
    url: str
    description: str | None
    done: bool = False
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LearningPath:
    """An ordered study plan with the user's progress."""

    user: str
    level: Level | None
    goal: str | None
    steps: tuple[PathStep, ...]

    @property
    def next_step(self) -> PathStep | None:
        return next((s for s in self.steps if not s.done), None)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)


# -- arXiv: bulk import, harvests, paper pages ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far a snapshot import is: bytes of the file read (compressed bytes for .gz)."""

    bytes_done: int
    bytes_total: int
    lines: int
    papers: int
    skipped: int
    phase: Literal["reading", "full text", "ranking index"] = "reading"
    """What the import does now: reading the file, then (a bulk load) building the papers'
    full-text index, then bringing the ranking index up to date."""
    indexed: int = 0
    """Papers added to the full-text index so far in the ``full text`` phase."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What importing an arXiv metadata snapshot did (totals over resumed runs too)."""

    path: str
    lines: int
    new: int
    updated: int
    unchanged: int
    filtered: int
    """Records left out by the category filter."""
    skipped: int
    """Lines that were not valid records (each reported with its line number)."""
    problems: tuple[str, ...] = ()
    """``line N: reason`` for the first skipped lines."""
    resumed_at_line: int = 0
    """The line an interrupted import was resumed after (0: started from the top)."""
    seconds: float = 0.0
    resumed_new: int = 0
    """Of ``new``, the papers the interrupted run(s) had stored before this one resumed."""
    resumed_papers: int = 0
    """Of :attr:`papers`, those the interrupted run(s) had stored before this one resumed."""

    @property
    def papers(self) -> int:
        """Records that matched the filter and are now stored."""
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class HarvestSummary:
    """What one OAI-PMH harvest run did."""

    metadata_prefix: str
    set_spec: str | None
    from_date: date | None
    until_date: date | None
    pages: int
    records: int
    new: int
    updated: int
    unchanged: int
    deleted: int = 0
    """Records the repository marks deleted (skipped)."""
    skipped: int = 0
    """Records that could not be read (each reported in ``problems``)."""
    problems: tuple[str, ...] = ()
    resumed: bool = False
    """True when the run continued an interrupted harvest from its resumption token."""
    last_datestamp: date | None = None
    """The newest datestamp seen: the next run starts from it."""


@dataclass(frozen=True, slots=True)
class PaperDetail:
    """A paper with everything known about it: its record and the items that mention it."""

    arxiv_id: str | None
    paper: Paper | None
    """None when items mention the paper but its metadata is not stored."""
    items: tuple[Item, ...] = ()
    ref: str = ""
    """How to name it (:attr:`Paper.ref`, or the identifier asked about)."""
    mentions: tuple[Mention, ...] = ()
    """Every item naming it, as a mention with its discussion (its ``items``, shortly)."""


# -- the user's library and recommendations --------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagSummary:
    """One of the user's tags and how many papers and items carry it."""

    tag: str
    count: int


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """Something in the user's library: a tagged, liked or dismissed paper or item."""

    kind: Literal["paper", "item"]
    ref: str
    """The arXiv id, or the item id as text."""
    title: str | None
    tags: tuple[str, ...] = ()
    reaction: Literal["like", "dismiss"] | None = None
    read: bool = False


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A ranked paper or item, with why it ranked where it did."""

    kind: Literal["paper", "item"]
    arxiv_id: str | None
    item_id: int | None
    """For a paper: an item that names it (a post, a story), if any."""
    title: str
    score: float
    """The ranking score: relevance plus the discussion and recency priors (higher first)."""
    reason: str
    """One line: the nearest tagged papers, the terms shared with them, and the
    discussion or recency when they changed the rank."""
    url: str | None = None
    date: date | None = None
    terms: tuple[str, ...] = ()
    similar_to: tuple[str, ...] = ()
    """Refs (arXiv ids or ``item:<id>``) of the user's papers nearest to this one."""
    mentions: int = 0
    """How many stored items (posts, stories, threads) name it."""
    discussed_in: tuple[str, ...] = ()
    """Names of the distinct sources discussing it (arXiv's own listings left out)."""
    relevance: float | None = None
    """The model's score alone, before the priors (None where no priors were applied)."""
    by_authors: tuple[str, ...] = ()
    """Its authors (names as stored) who also wrote papers the user tagged or liked (for
    related papers: the paper asked about), when their affinity lifted it into the list
    or above a paper the text preferred: the two strongest at most, as the reason names."""
    similarity: float | None = None
    """Cosine similarity to the nearest of the user's papers (``similar_to``), in the
    space the model ranked with (embeddings when it had them, else TF-IDF)."""
    term_weights: tuple[float, ...] = ()
    """For each of ``terms``: its share of the lexical similarity to the user's papers."""
    contributions: tuple[tuple[str, float], ...] = ()
    """What each channel added to ``score``: ``(channel, value)`` for the text channels
    (``lexical``, ``lexical_linear``, ``dense``, ``dense_linear``), ``authors``, ``team``,
    ``links``, and the priors ``discussion`` and ``recency``; they add up to ``score``."""


@dataclass(frozen=True, slots=True)
class BibtexExport:
    """What an export could write: the BibTeX of the stored papers, and the ids it names
    that are not stored (a partial export is still useful; the caller warns)."""

    text: str
    count: int
    missing: tuple[str, ...] = ()


# -- stories -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mention:
    """One item of a story: a post, a listing, a thread that names its paper or link."""

    source: str
    """The source's name (the user's name for it)."""
    kind: SourceKind
    """The source's kind: ``feed``, ``arxiv``, ``hackernews``, ``reddit``..."""
    url: str | None
    title: str | None
    published: datetime | None
    """Its date: published, else first seen."""
    points: int | None = None
    comments: int | None = None
    comments_url: str | None = None
    item_id: int = 0
    source_id: int = 0


@dataclass(frozen=True, slots=True)
class Story:
    """One paper or link, with every mention of it and its discussion signal."""

    id: int
    title: str | None
    """The best title: the paper's own, else a post's, else a thread's."""
    url: str | None
    arxiv_id: str | None
    first_seen: datetime
    last_seen: datetime
    sources: int
    """Independent sources mentioning it (distinct feeds, listings, forums)."""
    points: int
    """Hacker News points and Reddit scores, summed."""
    comments: int
    mentions: tuple[Mention, ...] = ()


# -- accounts (the web app) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token of a user, as listed: the secret itself is shown once, at creation."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """A token just made: ``token`` is the secret, shown this once and never stored."""

    token: str
    record: ApiToken


# -- digests, feeds out, scheduled work --------------------------------------------------------

#: The sections of a digest, in the order they are shown.
DigestSectionKind = Literal["recommended", "discussed", "posts", "path"]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One line of a digest: what to read, and one line on why it is there."""

    kind: Literal["paper", "item", "step"]
    ref: str
    """The arXiv id (or paper ref), the item id as text, or the catalog slug of a step."""
    title: str
    reason: str
    url: str | None = None
    source: str | None = None
    """Where it was found (a blog's name, Hacker News), if anywhere."""
    date: date | None = None
    summary: str | None = None
    """A few plain-text words of its abstract or post (never HTML)."""


@dataclass(frozen=True, slots=True)
class DigestSection:
    kind: DigestSectionKind
    title: str
    entries: tuple[DigestEntry, ...] = ()
    note: str | None = None
    """Why the section is empty or short (nothing to learn from yet, nothing new)."""


#: Where a stored digest stands: ``stored`` (composed, not sent), ``sending`` (claimed by a
#: sender; if that sender died it stays claimed, so the period is never sent twice),
#: ``sent``, ``failed`` (may be sent again).
DigestStatus = Literal["stored", "sending", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class Digest:
    """A personal newsletter for one period: what is new from ``since`` to ``until``."""

    user: str
    since: date
    until: date
    sections: tuple[DigestSection, ...]
    created_at: datetime
    id: int | None = None
    """Set on digests read from the archive."""
    status: DigestStatus | None = None
    sent_at: datetime | None = None
    recipient: str | None = None
    error: str | None = None

    @property
    def period(self) -> str:
        """The period's key, ``2026-11-26/2026-12-02``: one digest per user and period."""
        return f"{self.since.isoformat()}/{self.until.isoformat()}"

    @property
    def entry_count(self) -> int:
        return sum(len(s.entries) for s in self.sections)


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a user's digest is emailed: ``off``, ``daily`` or ``weekly`` (on ``weekday``,
    0 = Monday), from ``hour`` o'clock UTC, to ``email``."""

    cadence: Literal["off", "daily", "weekly"] = "off"
    weekday: int = 0
    hour: int = 7
    email: str | None = None


#: What an Atom feed (and its list view) shows.
FeedViewKind = Literal["new", "for-you", "discussed", "tag", "search", "source", "digest"]


@dataclass(frozen=True, slots=True)
class FeedView:
    """A list view as an Atom feed: ``FeedView("tag", "diffusion")``,
    ``FeedView("for-you")``.  ``arg`` is the tag, query, source or digest id; None for
    the views that take none (``new``, ``for-you``, ``discussed``; the latest digest)."""

    kind: FeedViewKind
    arg: str | None = None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


@dataclass(frozen=True, slots=True)
class FeedToken:
    """A private feed address's token, as listed (the secret itself is shown once only)."""

    id: int
    user: str
    created_at: datetime
    view: FeedView | None = None
    """The one view it opens; None: every view of the user."""
    label: str | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewFeedToken:
    """A token just created: ``secret`` goes in the feed URL and is not stored (its hash is)."""

    token: FeedToken
    secret: str


@dataclass(frozen=True, slots=True)
class UpdateRun:
    """One run of the updater (by ``mlradar update``, the worker or ``serve``)."""

    started_at: datetime
    finished_at: datetime
    trigger: str
    sources: int = 0
    new: int = 0
    updated: int = 0
    failed: int = 0
    error: str | None = None
    """Why the whole run stopped (an interrupt, a database error); per-source errors
    are counted in ``failed`` and kept on each source."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0


# -- Semantic Scholar ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class S2Paper:
    """A paper as Semantic Scholar lists it (a reference, a citation, a recommendation)."""

    s2_id: str
    title: str | None
    arxiv_id: str | None = None
    doi: str | None = None
    year: int | None = None


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What Semantic Scholar says of one paper, as cached (``fetched_at``: when)."""

    ref: str
    """The identifier asked for: ``arXiv:2503.11677``, ``DOI:10.1/x``."""
    s2_id: str | None
    title: str | None
    citation_count: int | None
    influential_citation_count: int | None
    venue: str | None
    year: int | None
    references: tuple[S2Paper, ...] = ()
    citations: tuple[S2Paper, ...] = ()
    recommended: tuple[S2Paper, ...] = ()
    fetched_at: datetime | None = None
    error: str | None = None
    """Why nothing is known (Semantic Scholar does not know the paper), if so."""


@dataclass(frozen=True, slots=True)
class EnrichSummary:
    """What one ``enrich`` run did."""

    papers: int
    """Papers asked about."""
    fetched: int
    """Requests made (answers now cached)."""
    cached: int
    """Answers still fresh in the cache, not asked again."""
    failed: tuple[str, ...] = ()
    """One line per paper that failed: ``2503.11677: HTTP 500``."""
    enriched: tuple[Enrichment, ...] = ()
