"""The data of the digests pages, the feeds out and their settings, built once as typed
records for the HTML pages and their API twins (as :mod:`mlradar.web.views` does for the
queue)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from mlradar.exceptions import InvalidInputError
from mlradar.types import Digest, DigestSchedule, FeedToken, FeedView, NewFeedToken
from mlradar.web.views import Page, check_limit, decode_cursor, paginate, parse_since

if TYPE_CHECKING:
    from mlradar._config import Settings
    from mlradar._radar import Radar

#: Entries per section of a digest made from the web (the CLI's default).
DIGEST_LIMIT = 10
#: The facade's cap on one read of the archive.
ARCHIVE_CAP = 1000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# -- digests ------------------------------------------------------------------------------------


def email_ready(settings: Settings) -> str | None:
    """None when digests can be emailed, else what the config lacks (the pages say it
    before anyone presses "send")."""
    if not settings.smtp_host:
        return "email is not configured: set smtp_host and smtp_from in the config file"
    if not settings.smtp_from:
        return "email is not configured: set smtp_from, the address digests come from"
    return None


def describe_schedule(schedule: DigestSchedule) -> str:
    """``emailed weekly on Monday from 07:00 UTC to ada@example.org`` (what the CLI says)."""
    if schedule.cadence == "off":
        return "not emailed on a schedule"
    when = f"from {schedule.hour:02d}:00 UTC"
    if schedule.cadence == "weekly":
        when = f"weekly on {WEEKDAYS[schedule.weekday]} {when}"
    else:
        when = f"daily {when}"
    return f"emailed {when}" + (f" to {schedule.email}" if schedule.email else "")


@dataclass(frozen=True, slots=True)
class DigestsView:
    """The archive page: the stored digests, newest period first, and how sending stands."""

    page: Page[Digest]
    schedule: DigestSchedule
    email_problem: str | None = None
    """Why a digest cannot be emailed from here (None: it can)."""

    @property
    def schedule_text(self) -> str:
        return describe_schedule(self.schedule)


def digest_page(radar: Radar, *, limit: int = 20, cursor: str | None = None) -> Page[Digest]:
    """One page of the user's archive."""
    check_limit(limit)
    offset = decode_cursor(cursor)
    # One row beyond the page says whether more follow; the facade reads at most 1000.
    found = radar.digests(limit=min(offset + limit + 1, ARCHIVE_CAP))
    return paginate(found, offset, limit)


def digests(
    radar: Radar, settings: Settings, *, limit: int = 20, cursor: str | None = None
) -> DigestsView:
    return DigestsView(
        digest_page(radar, limit=limit, cursor=cursor),
        radar.digest_schedule(),
        email_ready(settings),
    )


def make_digest(
    radar: Radar,
    *,
    since: str | None = None,
    limit: int = DIGEST_LIMIT,
    send: bool = False,
    to: str | None = None,
) -> Digest:
    """What ``mlradar digest [--since] [--send --to]`` does: compose the digest (without
    ``since``: what is new since the last one sent; the first time, the last week), then
    archive it, or email it (which archives it too).  Returns the stored digest."""
    composed = radar.digest(since=parse_since(since), limit=limit)
    if send:
        return radar.send_digest(composed, to=to or None)
    return radar.save_digest(composed)


def send_stored(radar: Radar, digest_id: int, to: str | None = None) -> Digest:
    """Email one archived digest (to ``to``, else the schedule's address); a period is
    sent once (DigestAlreadySentError after)."""
    return radar.send_digest(radar.digest_by_id(digest_id), to=to or None)


def set_schedule(
    radar: Radar, cadence: str, *, weekday: int = 0, hour: int = 7, email: str | None = None
) -> DigestSchedule:
    """Set the schedule; a blank ``email`` keeps the address there is."""
    address = email.strip() if email is not None else None
    return radar.set_digest_schedule(cadence, weekday=weekday, hour=hour, email=address or None)


# -- feeds out ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One private feed address to paste into a reader."""

    title: str
    url: str


def view_path(view: FeedView) -> str:
    """``new`` or ``tag/<the tag, percent-encoded>``: a view's part of a feed URL."""
    return view.kind if view.arg is None else f"{view.kind}/{quote(view.arg, safe='')}"


def token_feed_url(base_url: str, secret: str, view: FeedView) -> str:
    """A private feed's address: ``BASE/feeds/TOKEN/VIEW[/ARG]``."""
    return f"{base_url.rstrip('/')}/feeds/{quote(secret, safe='')}/{view_path(view)}"


def api_feed_url(base_url: str, view: FeedView) -> str:
    """The signed-in user's address of a feed: ``BASE/api/v1/feeds/VIEW[/ARG]``."""
    return f"{base_url.rstrip('/')}/api/v1/feeds/{view_path(view)}"


def parse_feed_view(kind: str, arg: str | None) -> FeedView:
    """A view from a URL's parts (``arg`` as the router decoded it)."""
    from mlradar._feedsout import parse_view

    return parse_view(kind, arg or None)


def feed_links(
    radar: Radar, base_url: str, secret: str, scope: FeedView | None
) -> tuple[FeedLink, ...]:
    """The URLs a new token opens: its one view, or (a token for every view) the
    fixed views, each of the user's tags and sources, and the newest digest."""

    def link(title: str, view: FeedView) -> FeedLink:
        return FeedLink(title, token_feed_url(base_url, secret, view))

    if scope is not None:
        return (link(str(scope), scope),)
    links = [
        link("new", FeedView("new")),
        link("for you", FeedView("for-you")),
        link("most discussed", FeedView("discussed")),
        link("the newest digest", FeedView("digest")),
    ]
    links += [link(f"tag {t.tag}", FeedView("tag", t.tag)) for t in radar.tags()]
    links += [
        link(f"source {s.display_name}", FeedView("source", str(s.id))) for s in radar.sources()
    ]
    links.append(link("a search (replace the words)", FeedView("search", "your words")))
    return tuple(links)


@dataclass(frozen=True, slots=True)
class CreatedFeedToken:
    """A token just made (its secret is shown here only) and the URLs it opens."""

    token: FeedToken
    secret: str
    urls: tuple[FeedLink, ...]


def create_feed_token(
    radar: Radar,
    base_url: str,
    *,
    view: str | None = None,
    arg: str | None = None,
    label: str | None = None,
) -> CreatedFeedToken:
    """A token for every view (no ``view``) or for one, with the URLs to copy."""
    if not view and arg:
        raise InvalidInputError("an argument needs its view (tag, search, source or digest)")
    scope = parse_feed_view(view, arg) if view else None
    made: NewFeedToken = radar.create_feed_token(scope, label=(label or "").strip() or None)
    return CreatedFeedToken(
        made.token, made.secret, feed_links(radar, base_url, made.secret, made.token.view)
    )


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """The settings page's feeds and digest part."""

    tokens: tuple[FeedToken, ...]
    schedule: DigestSchedule
    email_problem: str | None = None
    created: CreatedFeedToken | None = None
    weekdays: Sequence[str] = WEEKDAYS


def feed_settings(
    radar: Radar, settings: Settings, created: CreatedFeedToken | None = None
) -> FeedSettings:
    return FeedSettings(
        tuple(radar.feed_tokens()), radar.digest_schedule(), email_ready(settings), created
    )


def etag(data: bytes) -> str:
    """A strong validator of a feed's bytes (a reader polling an unchanged feed gets 304)."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison, as RFC 9110 says for it)."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        value = candidate.strip()
        if value == "*" or value.removeprefix("W/") == wanted:
            return True
    return False
