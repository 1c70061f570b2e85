"""YouTube as a source: a channel's or a playlist's videos feed.

Accepted input: a channel URL (``https://www.youtube.com/channel/UC...``), an ``@handle``
(bare, ``youtube.com/@handle`` or its URL), the older ``/c/<name>`` and ``/user/<name>``
URLs, a playlist URL (``/playlist?list=PL...``) and the feed itself
(``/feeds/videos.xml?channel_id=`` or ``playlist_id=``).

A handle or custom URL names no channel id, so adding one reads the channel page once and
takes the id from its canonical link (or its RSS link, or its ``channelId`` metadata); the
id is kept in the source's config, and updates never read the page again.  The videos feed
is an Atom feed, fetched and parsed by the feed connector (conditional GET and all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
    state_text,
)
from mlradar._connectors.feed import FeedConnector
from mlradar._connectors.social import text_links
from mlradar._fetch import HostPolicy
from mlradar._identity.refs import extract_refs
from mlradar._identity.urls import canonicalize_url
from mlradar._model import ParsedEntry
from mlradar._sources.feed import MAX_LINKS
from mlradar.exceptions import InvalidInputError, ParseError

YOUTUBE_URL = "https://www.youtube.com"
_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
_HANDLE = re.compile(r"@[A-Za-z0-9._-]{3,30}")
_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_PLAYLIST_ID = re.compile(r"[A-Za-z0-9_-]{10,64}")
_LEGACY_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# The channel id inside the page's JSON (ytInitialData): the last resort, after the markup.
_JSON_CHANNEL_ID = re.compile(rb'"(?:channelId|externalId|browseId)"\s*:\s*"(UC[A-Za-z0-9_-]{22})"')
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


def channel_id_from_page(content: bytes) -> str | None:
    """The channel id a channel page names: its canonical link, its RSS alternate link,
    its ``channelId``/``identifier`` metadata, else the first id in its embedded JSON."""
    import lxml.html
    from lxml.etree import ParserError

    try:
        root = lxml.html.fromstring(content)
    except (ParserError, ValueError):
        root = None
    if root is not None:
        paths = (
            '//link[@rel="canonical"]/@href',
            '//meta[@property="og:url"]/@content',
            '//link[@type="application/rss+xml"]/@href',
            '//meta[@itemprop="channelId" or @itemprop="identifier"]/@content',
        )
        candidates: list[object] = []
        for path in paths:
            found = root.xpath(path)
            candidates += found if isinstance(found, list) else []
        for value in candidates:
            m = _CHANNEL_ID.search(str(value))
            if m:
                return m.group(0)
    embedded = _JSON_CHANNEL_ID.search(content)
    return embedded.group(1).decode("ascii") if embedded else None


class YouTubeConnector:
    """Channels, handles and playlists, read through their videos feeds."""

    kind = "youtube"
    label = "YouTube"
    #: How its input looks, for the message that lists what can be followed.
    example = "youtube.com/@handle"

    def __init__(self, settings: Settings, *, base_url: str | None = None) -> None:
        self._settings = settings
        self._base = (base_url or settings.youtube_url or YOUTUBE_URL).rstrip("/")
        self._feeds = FeedConnector()
        own = (urlsplit(self._base).netloc or "").lower()
        self._hosts = _HOSTS | {own}

    # -- specs ---------------------------------------------------------------------------

    def feed_url(self, config: Mapping[str, Any]) -> str:
        if config.get("playlist_id"):
            return f"{self._base}/feeds/videos.xml?playlist_id={config['playlist_id']}"
        return f"{self._base}/feeds/videos.xml?channel_id={config['channel_id']}"

    def _feed_spec(self, config: dict[str, Any], title: str | None = None) -> SourceSpec:
        url = self.feed_url(config)
        if config.get("playlist_id"):
            home = f"{self._base}/playlist?list={config['playlist_id']}"
        elif config.get("handle"):
            home = f"{self._base}/{config['handle']}"
        else:
            home = f"{self._base}/channel/{config['channel_id']}"
        return SourceSpec(
            self.kind,
            url,
            canonical_url=canonicalize_url(url),
            title=title,
            home_url=home,
            config=config,
        )

    def _page_spec(self, page: str, handle: str) -> SourceSpec:
        # Needs resolving: the page names the channel id.
        return SourceSpec(self.kind, f"{self._base}/{page}", config={"handle": handle})

    def parse_spec(self, text: str) -> SourceSpec | None:
        raw = text.strip()
        if _HANDLE.fullmatch(raw):
            return self._page_spec(raw, raw)
        lowered = raw.lower()
        if lowered.startswith(("youtube.com/", "www.youtube.com/", "m.youtube.com/")):
            raw = "https://" + raw
        elif not lowered.startswith(("http://", "https://")):
            return None
        try:
            parts = urlsplit(raw)
        except ValueError:
            return None
        if (parts.netloc or "").lower() not in self._hosts:
            return None
        segments = [s for s in parts.path.split("/") if s]
        query = parse_qs(parts.query)
        if segments == ["feeds", "videos.xml"]:
            if (cid := (query.get("channel_id") or [""])[0]) and _CHANNEL_ID.fullmatch(cid):
                return self._feed_spec({"channel_id": cid})
            if (pid := (query.get("playlist_id") or [""])[0]) and _PLAYLIST_ID.fullmatch(pid):
                return self._feed_spec({"playlist_id": pid})
        elif segments and segments[0] == "playlist":
            if (pid := (query.get("list") or [""])[0]) and _PLAYLIST_ID.fullmatch(pid):
                return self._feed_spec({"playlist_id": pid})
        elif len(segments) >= 2 and segments[0] == "channel":
            if _CHANNEL_ID.fullmatch(segments[1]):
                return self._feed_spec({"channel_id": segments[1]})
        elif segments and _HANDLE.fullmatch(segments[0]):
            return self._page_spec(segments[0], segments[0])
        elif (
            len(segments) >= 2
            and segments[0] in ("c", "user")
            and _LEGACY_NAME.fullmatch(segments[1])
        ):
            page = f"{segments[0]}/{quote(segments[1])}"
            return self._page_spec(page, page)
        raise InvalidInputError(
            f"{text.strip()!r}: give a YouTube channel URL, an @handle or a playlist URL"
        )

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        """A handle's channel id from its page; then the feed's title from the feed."""
        config = dict(spec.config)
        if not config.get("channel_id") and not config.get("playlist_id"):
            config["channel_id"] = await self._channel_id(spec.url, ctx)
        found = self._feed_spec(config)
        checked = await self._feeds.resolve(
            SourceSpec("feed", found.url, canonical_url=found.canonical_url), ctx
        )
        return SourceSpec(
            self.kind,
            found.url,
            canonical_url=found.canonical_url,
            title=checked.title,
            home_url=found.home_url,
            config=config,
        )

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return {}

    async def _channel_id(self, page_url: str, ctx: ResolveContext | FetchContext) -> str:
        page = await ctx.fetcher.get(page_url, accept=PAGE_ACCEPT)
        channel = channel_id_from_page(page.content)
        if channel is None:
            raise ParseError(page_url, "the channel page names no channel id")
        return channel

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        """The videos feed, read like any feed.

        The URL stored is the feed's, except for a handle added without resolving it
        (``sources add --no-discover @name``): its channel id is then read from the page
        on the first fetch and kept in the state, so the page is read once.
        """
        feed = source
        known = state_text(source.state, "channel_id")
        if "/feeds/videos.xml" not in source.url:
            if not source.config.get("handle"):
                raise InvalidInputError(f"{source.url}: not a YouTube videos feed")
            known = known or await self._channel_id(source.url, ctx)
            feed = replace(source, url=self.feed_url({"channel_id": known}))
        result = await self._feeds.fetch(feed, ctx)
        if known and "/feeds/videos.xml" not in source.url:
            result = replace(result, state={**(result.state or {}), "channel_id": known})
        if result.entries is None:
            return result
        return replace(result, entries=tuple(with_bare_links(e) for e in result.entries))


def with_bare_links(entry: ParsedEntry) -> ParsedEntry:
    """``entry`` with the URLs its plain text spells out among its links and refs.

    A video's description is plain text: its links are bare URLs, not anchors, so the
    feed parser finds none (arXiv ids and DOIs it does find, in the text).  Every paper
    it links must still be a mention.  The URLs are found as in social posts
    (:func:`mlradar._connectors.social.text_links`).
    """
    found: dict[str, None] = dict.fromkeys(entry.links)
    for url in text_links(entry.text):
        if url != entry.url:
            found.setdefault(url, None)
    links = tuple(found)[:MAX_LINKS]
    if links == entry.links:
        return entry
    refs = tuple(dict.fromkeys((*entry.refs, *extract_refs(links))))
    return replace(entry, links=links, refs=refs)
