"""Reddit as a source: a subreddit's listing, read as JSON.

Accepted input: ``r/MachineLearning`` (hot), ``r/MachineLearning/new``,
``r/MachineLearning/top?t=week`` (``hour day week month year all``), ``/r/...``, and the
site's URLs (``https://www.reddit.com/r/MachineLearning/top/?t=week``, ``old.reddit.com``).
A fetch reads ``/r/<sub>/<sort>.json?limit=100&raw_json=1`` (``raw_json``: text as written,
not HTML-escaped twice).

Each post is an entry with its score and comment count (``comments_url`` the thread), its
flair as a category, and its link: the page it links, or for a self post its permalink,
with the self text (HTML, sanitized like any feed content) as the entry's content.

Reddit allows about 10 unauthenticated requests a minute: the host policy spaces
requests :data:`DEFAULT_INTERVAL` seconds apart, one at a time, and the client honours
``X-Ratelimit-Remaining``/``X-Ratelimit-Reset`` (a 429 pauses the host for the reset).
The User-Agent is mlradar's own, descriptive one, as Reddit's API rules ask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
)
from mlradar._fetch import HostPolicy
from mlradar._fetch.headers import parse_ratelimit_pause
from mlradar._model import DiscussionSignal, ParsedEntry
from mlradar._sources.entry import api_entry
from mlradar.exceptions import InvalidInputError, ParseError

REDDIT_URL = "https://www.reddit.com"
#: Permalinks and comment pages always point at the public site.
WEB_URL = "https://www.reddit.com"
SORTS = ("hot", "new", "top", "rising", "controversial")
PERIODS = ("hour", "day", "week", "month", "year", "all")
#: Seconds between requests: 10 a minute, Reddit's unauthenticated allowance.
DEFAULT_INTERVAL = 6.0
LISTING_LIMIT = 100
_SITE_HOSTS = frozenset(
    {"reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com"}
)
# Subreddit names: 2-21 letters, digits, underscores; "a+b" reads several at once.
_SUB = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}(?:\+[A-Za-z0-9][A-Za-z0-9_]{1,20})*")
# r/<sub>[/<sort>][/][.json|.rss][?t=...]
_SHORT = re.compile(
    r"^/?r/(?P<sub>[^/?#\s]+)(?:/(?P<sort>[A-Za-z]+))?/?(?:\.json|\.rss)?/?(?:\?(?P<q>\S*))?$"
)


def _listing(sub: str, sort: str, period: str | None) -> SourceSpec:
    if not _SUB.fullmatch(sub):
        raise InvalidInputError(f"{sub!r} is not a subreddit name")
    sort = sort.lower()
    if sort not in SORTS:
        raise InvalidInputError(
            f"r/{sub}/{sort}: a subreddit listing is one of " + ", ".join(SORTS)
        )
    if sort in ("top", "controversial"):
        period = (period or "day").lower()
        if period not in PERIODS:
            raise InvalidInputError(f"t={period}: the period is one of " + ", ".join(PERIODS))
    else:
        period = None
    suffix = "" if sort == "hot" else f"{sort}/"
    query = f"?t={period}" if period else ""
    url = f"{WEB_URL}/r/{sub}/{suffix}{query}"
    config: dict[str, Any] = {"subreddit": sub, "sort": sort}
    if period:
        config["t"] = period
    name = f"r/{sub}" + ("" if sort == "hot" else f" ({sort}{', ' + period if period else ''})")
    return SourceSpec(
        "reddit",
        url,
        canonical_url=f"{WEB_URL}/r/{sub.lower()}/{suffix}{query}",
        title=name,
        home_url=f"{WEB_URL}/r/{sub}/",
        config=config,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def post_entry(post: Mapping[str, Any]) -> ParsedEntry | None:
    """The entry of one listing child's ``data`` (a ``t3`` post), or None for a removed one.
    Raises ParseError when the post is not shaped like one."""
    name, permalink = post.get("name"), post.get("permalink")
    if not isinstance(name, str) or not isinstance(permalink, str):
        raise ParseError(REDDIT_URL, "a Reddit post without its 'name' or 'permalink'")
    if post.get("removed_by_category"):
        return None
    title = _text(post.get("title"))
    if title is None:
        return None
    if not permalink.startswith("/") or permalink.startswith("//"):
        raise ParseError(REDDIT_URL, "a Reddit post whose 'permalink' is not a path")
    thread = WEB_URL + permalink
    is_self = bool(post.get("is_self"))
    link = thread if is_self else (_text(post.get("url")) or thread)
    if link.startswith("/"):  # a crosspost's link is the other thread's permalink
        link = WEB_URL + link
    categories = [c for c in (_text(post.get("link_flair_text")),) if c]
    created = post.get("created_utc")
    published = (
        datetime.fromtimestamp(created, UTC)
        if isinstance(created, int | float) and not isinstance(created, bool)
        else None
    )
    author = _text(post.get("author"))
    return api_entry(
        guid=f"reddit:{name}",
        link=link,
        fallback_link=thread,
        title=title,
        author=None if author == "[deleted]" else author,
        html=_text(post.get("selftext_html")),
        base_url=thread,
        published_at=published,
        categories=categories,
        discussion=DiscussionSignal(
            _int(post.get("score")), _int(post.get("num_comments")), thread
        ),
    )


def parse_listing(content: bytes, url: str) -> list[ParsedEntry]:
    """The posts of one listing response (``{"kind": "Listing", "data": {"children"...}}``)."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise ParseError(url, "the listing is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        raise ParseError(url, "the response is no Reddit listing (no data.children list)")
    entries: list[ParsedEntry] = []
    for child in children:
        if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
            raise ParseError(url, "a listing child without its 'data' object")
        if child.get("kind") != "t3":  # comments, subreddits: not posts
            continue
        entry = post_entry(child["data"])
        if entry is not None:
            entries.append(entry)
    return entries


class RedditConnector:
    """Subreddit listings: ``r/<sub>[/<sort>][?t=<period>]`` or a reddit.com URL."""

    kind = "reddit"
    label = "Reddit"
    #: How its input looks, for the message that lists what can be followed.
    example = "r/<subreddit>"

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None = None,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._settings = settings
        self._base = (base_url or settings.reddit_url or REDDIT_URL).rstrip("/")
        self._interval = interval

    def parse_spec(self, text: str) -> SourceSpec | None:
        raw = text.strip()
        lowered = raw.lower()
        if lowered.startswith(("r/", "/r/")):
            m = _SHORT.match(raw)
            if not m:
                raise InvalidInputError(f"{raw!r}: write r/<subreddit>[/new|/top?t=week]")
            period = parse_qs(m.group("q") or "").get("t", [None])[0]
            return _listing(m.group("sub"), m.group("sort") or "hot", period)
        if not lowered.startswith(("http://", "https://")):
            return None
        parts = urlsplit(raw)
        if (parts.hostname or "").lower() not in _SITE_HOSTS:
            return None
        path = parts.path
        m = _SHORT.match(path + (f"?{parts.query}" if parts.query else ""))
        if not m:
            if path.startswith("/r/"):
                raise InvalidInputError(f"{raw!r}: only subreddit listings can be followed")
            return None
        period = parse_qs(parts.query).get("t", [None])[0]
        return _listing(m.group("sub"), m.group("sort") or "hot", period)

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        return spec

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        host = urlsplit(self._base).hostname
        policy = HostPolicy(
            max_connections=1, min_interval=self._interval, max_retries=1, max_retry_wait=60.0
        )
        return {host: policy} if host else {}

    def listing_url(self, config: Mapping[str, Any]) -> str:
        sub, sort = str(config.get("subreddit") or ""), str(config.get("sort") or "hot")
        url = f"{self._base}/r/{sub}/{sort}.json?limit={LISTING_LIMIT}&raw_json=1"
        if config.get("t"):
            url += f"&t={config['t']}"
        return url

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        config: Mapping[str, Any] = source.config or {}
        if not config.get("subreddit"):
            spec = self.parse_spec(source.url)
            if spec is None:
                raise InvalidInputError(f"{source.url}: not a subreddit listing")
            config = spec.config
        response = await ctx.fetcher.get(self.listing_url(config), accept="application/json")
        entries = await ctx.run_cpu(parse_listing, response.content, response.url)
        return FetchResult(
            tuple(entries),
            status=response.status,
            retry_after=parse_ratelimit_pause(response.headers),
        )
