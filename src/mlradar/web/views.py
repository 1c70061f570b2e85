"""The data every page and its API twin show, built once as typed records.

The HTML pages render these records with templates; the API returns them as JSON.  What
is decided here is small and pure where it can be (ordering by discussion, cursors).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from mlradar.exceptions import InvalidInputError, RadarError
from mlradar.types import (
    Item,
    LearningPath,
    Paper,
    PaperDetail,
    Recommendation,
    SearchHit,
    Source,
    UpdateRun,
)

if TYPE_CHECKING:
    from mlradar._radar import Radar

T = TypeVar("T")

Tab = Literal["foryou", "new", "discussed"]
TABS: tuple[Tab, ...] = ("foryou", "new", "discussed")
MAX_LIMIT = 200
#: How far back "most discussed" looks, and how many of the newest items it weighs.
DISCUSSED_DAYS = 30
DISCUSSED_POOL = 500
ABSTRACT_HEAD = 320


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: ``next`` is the cursor of the following page, None at the end."""

    items: tuple[T, ...]
    limit: int
    next: str | None = None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for (0 without one); InvalidInputError when malformed."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInputError("not a cursor this server made") from None
    if kind != "o" or not 0 <= offset <= 100_000:
        raise InvalidInputError("not a cursor this server made")
    return offset


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def paginate(rows: Sequence[T], offset: int, limit: int) -> Page[T]:
    """A page of ``rows`` (fetched with one row beyond the page, to know if more follow)."""
    chunk = tuple(rows[offset : offset + limit])
    more = len(rows) > offset + limit
    return Page(chunk, limit, encode_cursor(offset + limit) if more else None)


# -- the queue ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row of the queue: a paper or an item, with what the page shows of it."""

    kind: Literal["paper", "item"]
    ref: str
    """The arXiv id (or other paper ref), or the item id as text."""
    title: str
    url: str | None
    date: dt.date | None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    abstract: str = ""
    """The first lines of the abstract or summary, as plain text."""
    source_name: str | None = None
    reason: str | None = None
    """Why it is recommended ("for you" only)."""
    score: float | None = None
    points: int | None = None
    comments: int | None = None
    comments_url: str | None = None
    papers: tuple[str, ...] = ()
    """For an item: the arXiv ids it names."""


@dataclass(frozen=True, slots=True)
class QueueView:
    tab: Tab
    page: Page[QueueRow]
    message: str | None = None
    """Why the list is empty or what it fell back to."""
    window: tuple[date, date] | None = None


def _head(text: str | None, size: int = ABSTRACT_HEAD) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1].rsplit(" ", 1)[0] + "…"


def _item_text(item: Item) -> str:
    from mlradar._content.html import html_to_text

    return html_to_text(item.summary_html or item.content_html or "")


def item_row(item: Item) -> QueueRow:
    return QueueRow(
        kind="item",
        ref=str(item.id),
        title=item.title or item.url or f"item {item.id}",
        url=item.url,
        date=item.date.date(),
        authors=(item.author,) if item.author else (),
        categories=item.categories,
        abstract=_head(_item_text(item)),
        source_name=item.source_name,
        points=item.points,
        comments=item.comments,
        comments_url=item.comments_url,
        papers=item.arxiv_ids,
    )


def paper_row(paper: Paper, rec: Recommendation | None = None) -> QueueRow:
    return QueueRow(
        kind="paper",
        ref=paper.ref,
        title=paper.title,
        url=paper.abs_url,
        date=paper.first_version_at,
        authors=paper.authors,
        categories=paper.categories,
        abstract=_head(paper.abstract),
        source_name="arXiv" if paper.arxiv_id else paper.venue,
        reason=rec.reason if rec else None,
        score=rec.score if rec else None,
    )


def recommendation_rows(radar: Radar, recs: Sequence[Recommendation]) -> list[QueueRow]:
    refs = [r.arxiv_id for r in recs if r.kind == "paper" and r.arxiv_id]
    papers = {p.arxiv_id: p for p in radar.papers(refs)} if refs else {}
    rows: list[QueueRow] = []
    for rec in recs:
        paper = papers.get(rec.arxiv_id) if rec.arxiv_id else None
        if paper is not None:
            rows.append(paper_row(paper, rec))
            continue
        rows.append(
            QueueRow(
                kind=rec.kind,
                ref=rec.arxiv_id or str(rec.item_id),
                title=rec.title,
                url=rec.url,
                date=rec.date,
                reason=rec.reason,
                score=rec.score,
            )
        )
    return rows


def for_you_window(radar: Radar) -> tuple[date, date] | None:
    """What "for you" ranks: the digest's window when something is new in it, else the
    newest listing days in the corpus (as ``recommend`` offers); None when nothing is
    indexed."""
    window = radar.digest_window()
    if window.has_new:
        return (window.since, window.until)
    return radar.newest_window()


def discussion_weight(item: Item) -> int:
    """How discussed an item is, by the counts its source gives (points and comments)."""
    return (item.points or 0) + 2 * (item.comments or 0)


def most_discussed(items: Sequence[Item]) -> list[Item]:
    """Items with any discussion, most discussed first (newer first on ties)."""
    talked = [i for i in items if discussion_weight(i) > 0]
    return sorted(talked, key=lambda i: (-discussion_weight(i), -i.date.timestamp(), -i.id))


def queue(
    radar: Radar,
    tab: Tab = "foryou",
    *,
    limit: int = 20,
    cursor: str | None = None,
    now: datetime | None = None,
) -> QueueView:
    check_limit(limit)
    offset = decode_cursor(cursor)
    want = offset + limit + 1
    if tab == "new":
        return QueueView(
            tab, paginate([item_row(i) for i in radar.items(limit=want)], offset, limit)
        )
    if tab == "discussed":
        since = (now or datetime.now(UTC)) - timedelta(days=DISCUSSED_DAYS)
        pool = radar.items(limit=max(DISCUSSED_POOL, want), since=since)
        rows = [item_row(i) for i in most_discussed(pool)]
        message = None if rows else f"nothing discussed in the last {DISCUSSED_DAYS} days"
        return QueueView(tab, paginate(rows, offset, limit), message)
    window = for_you_window(radar)
    if window is None:
        return QueueView(tab, Page((), limit), "nothing is indexed yet: import or update first")
    try:
        recs = radar.recommend(since=window[0], until=window[1], limit=min(want, 1000))
    except RadarError as exc:
        # Nothing to learn from yet, most often: say so, the page offers "new".
        return QueueView(tab, Page((), limit), str(exc), window)
    rows = recommendation_rows(radar, recs)
    message = None if rows else "nothing to recommend in this window"
    return QueueView(tab, paginate(rows, offset, limit), message, window)


# -- search ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchView:
    query: str
    sources: tuple[str, ...]
    since: str | None
    exhaustive: bool
    page: Page[SearchHit]


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``2025-06-01``, an ISO datetime, or a span back from now: ``36h``, ``7d``, ``2w``
    (what the CLI's ``--since`` takes)."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    units = {"h": "hours", "d": "days", "w": "weeks"}
    if text[:-1].isdigit() and text[-1:] in units and len(text) < 8:
        return (now or datetime.now(UTC)) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"not a date: {value!r} (use YYYY-MM-DD, an ISO datetime, or 36h / 7d / 2w)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def search(
    radar: Radar,
    query: str,
    *,
    sources: Sequence[str] = (),
    since: str | None = None,
    exhaustive: bool = False,
    limit: int = 20,
    cursor: str | None = None,
) -> SearchView:
    check_limit(limit)
    offset = decode_cursor(cursor)
    if not query.strip():
        raise InvalidInputError("give words to search for")
    if len(query) > 1000:
        raise InvalidInputError("a query has at most 1000 characters")
    hits = radar.search(
        query,
        limit=offset + limit + 1,
        sources=list(sources) or None,
        since=parse_since(since),
        exhaustive=exhaustive,
    )
    return SearchView(query, tuple(sources), since, exhaustive, paginate(hits, offset, limit))


# -- a paper, an item -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperView:
    detail: PaperDetail
    related: tuple[Recommendation, ...] = ()
    related_note: str | None = None
    why: Recommendation | None = None
    """Its row among the user's recommendations ("for you"), when it is one."""
    tags: tuple[str, ...] = ()
    reaction: str | None = None
    read: bool = False
    story_id: int | None = None
    """The newest story about it in the user's sources, when one is (its page links there)."""


def _library_state(radar: Radar, ref: str) -> tuple[tuple[str, ...], str | None, bool]:
    for entry in radar.library():
        if entry.ref == ref:
            return entry.tags, entry.reaction, entry.read
    return (), None, False


def related(radar: Radar, ref: str, limit: int = 8) -> tuple[list[Recommendation], str | None]:
    """The papers most like ``ref``, or why there are none."""
    try:
        return radar.related(ref, limit=limit), None
    except RadarError as exc:
        return [], str(exc)


def paper(
    radar: Radar, ref: str, *, with_related: bool = False, related_limit: int = 8
) -> PaperView:
    """A paper's page.  Related papers are optional: ranking the whole corpus against one
    paper takes seconds on 75k papers, so the page loads them apart (its own URL, or
    fetched in place by the page's script)."""
    detail = radar.paper(ref)
    found: list[Recommendation] = []
    note = None
    if with_related:
        found, note = related(radar, detail.ref, related_limit)
    why = None
    window = for_you_window(radar)
    if window is not None and detail.arxiv_id:
        try:
            recs = radar.recommend(since=window[0], until=window[1], limit=100)
        except RadarError:
            recs = []
        why = next((r for r in recs if r.arxiv_id == detail.arxiv_id), None)
    tags, reaction, read = _library_state(radar, detail.ref)
    story_id = radar.story_of(arxiv_id=detail.arxiv_id) if detail.arxiv_id else None
    return PaperView(detail, tuple(found), note, why, tags, reaction, read, story_id)


@dataclass(frozen=True, slots=True)
class ItemView:
    item: Item
    papers: tuple[Paper, ...] = ()
    tags: tuple[str, ...] = ()
    reaction: str | None = None
    read: bool = False
    story_id: int | None = None
    """The story it is a mention of (every item joins one as it is stored)."""


def item(radar: Radar, item_id: int) -> ItemView:
    found = radar.item(item_id)
    papers = tuple(radar.papers(list(found.arxiv_ids))) if found.arxiv_ids else ()
    tags, reaction, read = _library_state(radar, str(found.id))
    return ItemView(found, papers, tags, reaction, read, radar.story_of(item_id=found.id))


# -- sources, catalog, settings --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastRun:
    """When the updater last ran (by ``mlradar update``, the worker or ``serve``) and how
    it went for this user's sources.  The run's own totals count every user's sources,
    so a page shows the user's share instead: ``fetched`` of theirs were fetched in it,
    ``failed`` of those failed."""

    run: UpdateRun
    fetched: int
    failed: int


@dataclass(frozen=True, slots=True)
class SourcesView:
    sources: tuple[Source, ...]
    failing: int = 0
    last_run: LastRun | None = None


def last_run(radar: Radar, mine: Sequence[Source]) -> LastRun | None:
    """The last update run and the user's share of it (None: it never ran)."""
    run = radar.last_update_run()
    if run is None:
        return None
    # A fetch, failed or not, stamps its source's last_fetched_at inside the run's span.
    fetched = [
        s
        for s in mine
        if s.state.last_fetched_at is not None
        and run.started_at <= s.state.last_fetched_at <= run.finished_at
    ]
    return LastRun(run, len(fetched), sum(1 for s in fetched if s.state.consecutive_errors))


def sources(radar: Radar, tag: str | None = None) -> SourcesView:
    found = tuple(radar.sources(tag=tag))
    failing = sum(1 for s in found if s.state.consecutive_errors)
    return SourcesView(found, failing, last_run(radar, found))


@dataclass(frozen=True, slots=True)
class PathView:
    path: LearningPath
    done: int
    total: int


def learning_path(radar: Radar, level: str | None = None, goal: str | None = None) -> PathView:
    path = radar.learning_path(level=level or None, goal=goal or None)
    return PathView(path, path.done_count, len(path.steps))


Action = Literal["like", "dismiss", "clear", "read", "unread", "tag", "untag"]
ACTIONS: tuple[Action, ...] = ("like", "dismiss", "clear", "read", "unread", "tag", "untag")


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: Action
    ids: tuple[str, ...]
    tag: str | None = None
    changed: int = 0


def act(radar: Radar, action: str, ids: Sequence[str], tag: str | None = None) -> ActionResult:
    """Do one library action on papers or items (what the CLI's like, dismiss, read and
    tag commands do)."""
    if action not in ACTIONS:
        raise InvalidInputError(f"unknown action {action!r}: use {', '.join(ACTIONS)}")
    ids = [i.strip() for i in ids if i and i.strip()]
    if not ids:
        raise InvalidInputError("name at least one paper or item")
    if len(ids) > 500:
        raise InvalidInputError("at most 500 ids at once")
    changed = len(ids)
    if action in ("tag", "untag"):
        if not tag or not tag.strip():
            raise InvalidInputError(f"{action} needs a tag")
        tag = tag.strip()
        changed = radar.tag(tag, ids) if action == "tag" else radar.untag(tag, ids)
    elif action == "like":
        radar.like(ids)
    elif action == "dismiss":
        radar.dismiss(ids)
    elif action == "clear":
        radar.clear_reaction(ids)
    else:
        radar.mark_read(ids, read=action == "read")
    return ActionResult(action, tuple(ids), tag if action in ("tag", "untag") else None, changed)
