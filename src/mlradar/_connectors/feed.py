"""RSS, Atom and JSON feeds: the connector for any http(s) URL (a blog's home page is enough).

Fetches are conditional (ETag / Last-Modified kept in the source's state).  A server that
sends no validators still costs no parse when the body is byte-for-byte the last one: its
hash is kept in the state too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
    state_text,
)
from mlradar._fetch import HostPolicy
from mlradar._identity.urls import canonicalize_url
from mlradar._model import ParsedFeed
from mlradar._sources.discovery import discover_feeds, looks_like_feed
from mlradar._sources.feed import parse_feed
from mlradar.exceptions import InvalidInputError, ParseError

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = FEED_ACCEPT + ", text/html;q=0.7"
# A bare host name with an optional path: "lilianweng.github.io/", "colah.github.io/rss.xml".
_BARE_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?::\d+)?(?:/\S*)?$")


class FeedConnector:
    """Plain feeds.  Mounted as the fallback: it takes any http(s) URL others decline."""

    kind = "feed"
    label = "feed"

    def parse_spec(self, text: str) -> SourceSpec | None:
        url = text.strip()
        lowered = url.lower()
        if lowered.startswith("feed://"):  # the old way to write http://
            url = "http://" + url[len("feed://") :]
        elif not lowered.startswith(("http://", "https://")):
            if "://" in url:
                raise InvalidInputError(f"{url}: only http and https feeds can be followed")
            if not _BARE_HOST.match(url):
                return None
            url = "https://" + url
        return SourceSpec(self.kind, url, canonical_url=canonicalize_url(url))

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        """Find the feed behind a web page (autodiscovery), and read its title."""
        fetcher = ctx.fetcher
        url = spec.url
        resp = await fetcher.get(url, accept=PAGE_ACCEPT)
        home = None
        if not looks_like_feed(resp.content, resp.content_type):
            candidates = discover_feeds(resp.content, resp.url)
            if not candidates:
                raise ParseError(url, "no feed found: the page links no RSS, Atom or JSON feed")
            url, home = candidates[0], resp.url
            resp = await fetcher.get(url, accept=FEED_ACCEPT)
        # Keep a permanent redirect's target; a temporary one may change back.
        feed_url = resp.permanent_redirect or url
        feed = parse_feed(resp.content, resp.url, content_type=resp.content_type)
        return SourceSpec(
            self.kind,
            feed_url,
            canonical_url=canonicalize_url(feed_url),
            title=feed.title,
            home_url=feed.home_url or home,
        )

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return {}

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        state = source.state
        resp = await ctx.fetcher.get(
            source.url,
            etag=state_text(state, "etag"),
            last_modified=state_text(state, "last_modified"),
            accept=FEED_ACCEPT,
        )
        kept = {"etag": resp.etag, "last_modified": resp.last_modified}
        if resp.not_modified:
            return FetchResult(
                None,
                state={**state, **kept},
                status=resp.status,
                retry_after=resp.retry_after,
                max_age=resp.max_age,
            )
        digest = hashlib.sha256(resp.content).hexdigest()
        new_state = {**kept, "body_sha256": digest}
        if digest == state.get("body_sha256"):
            # The same bytes as last time: nothing in them can have changed.
            return FetchResult(
                None,
                state=new_state,
                status=resp.status,
                retry_after=resp.retry_after,
                max_age=resp.max_age,
            )
        feed = await ctx.run_cpu(parse_job, resp.content, resp.url, resp.content_type, source.kind)
        return FetchResult(
            feed.entries,
            state=new_state,
            status=resp.status,
            retry_after=resp.retry_after,
            max_age=resp.max_age,
            title=feed.title,
            home_url=feed.home_url,
            warning=feed.warning,
        )


def parse_job(
    content: bytes, url: str, content_type: str | None, source_kind: str | None = None
) -> ParsedFeed:
    """:func:`parse_feed` with positional arguments, to send to a worker process.

    With ``source_kind``, each entry also gets its story keys: computing them here, in the
    worker, takes that work off the one process that writes (see ``_update.pipeline``).
    """
    feed = parse_feed(content, url, content_type=content_type)
    if source_kind is None:
        return feed
    # Here, not at the top: the stories package (35 ms) is for the workers that parse.
    from mlradar._stories.keys import entry_keys

    entries = tuple(replace(e, story_keys=entry_keys(e, source_kind)) for e in feed.entries)
    return replace(feed, entries=entries)
