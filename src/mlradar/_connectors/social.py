"""Researchers' social profiles: Bluesky and Mastodon, which publish every profile as RSS.

``https://bsky.app/profile/<handle>`` (or ``bluesky:<handle>``) is followed as
``.../profile/<handle>/rss``; ``https://<instance>/@<user>`` (or ``@user@instance``,
``mastodon:@user@instance``) as ``https://<instance>/@<user>.rss``.
The feeds are then read by the feed connector (conditional GET, nh3, arXiv ids and DOIs
from every link), so a post that links a paper mentions that paper like a blog post does.

Posts have no title in either feed: an entry gets its text's opening as a title and the
profile's handle as its author, so listings and stories have something to show.

Bluesky's feed gives a post's text as written, where clients shorten a long link for
display (``arxiv.org/abs/2503.1...``): such a link names no paper (the extractor refuses
a cut identifier rather than guessing one).  Mastodon's feed carries the post's HTML with
its full links.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from mlradar._config import Settings
from mlradar._connectors.base import (
    FetchContext,
    FetchResult,
    ResolveContext,
    SourceRef,
    SourceSpec,
)
from mlradar._connectors.feed import FeedConnector
from mlradar._fetch import HostPolicy
from mlradar._identity.urls import canonical_url_or_none, canonicalize_url
from mlradar._identity.venues import venue_refs
from mlradar._model import ParsedEntry
from mlradar._sources.feed import MAX_LINKS
from mlradar.exceptions import FetchError, InvalidInputError, ParseError, SourceError

#: Characters of a post's text that make its title.
POST_TITLE_CHARS = 120

# A Bluesky handle is a domain name (case-insensitive); an account may also be named by
# its DID.
_HANDLE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_DID = re.compile(r"^did:(?:plc|web):[a-z0-9._:%-]{1,200}$")
_BSKY_PROFILE = re.compile(r"^/profile/(?P<actor>[^/]+)/?(?:rss/?)?$")
# Mastodon user names are letters, digits and underscores; a remote account shows as
# /@user@its.instance on another instance.
_MASTODON_PATH = re.compile(
    r"^/@(?P<user>\w{1,64})(?:@(?P<remote>[A-Za-z0-9.-]+\.[A-Za-z]{2,}))?(?:\.rss|/)?$"
)
_MASTODON_ADDRESS = re.compile(r"^@?(?P<user>\w{1,64})@(?P<instance>[A-Za-z0-9.-]+\.[A-Za-z]{2,})$")
#: Sites with ``/@name`` profile pages that are not Mastodon instances (YouTube has its own
#: connector; Medium and Substack profiles have feeds of another shape).
NOT_MASTODON = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "medium.com",
        "substack.com",
        "tiktok.com",
        "www.tiktok.com",
        "threads.net",
        "www.threads.net",
        "bsky.app",
    }
)


def _post_title(entry: ParsedEntry) -> str | None:
    """The opening of a post's text, cut at a word: its title in listings."""
    text = " ".join(entry.text.split())
    if len(text) <= POST_TITLE_CHARS:
        return text or None
    cut = text[:POST_TITLE_CHARS].rsplit(" ", 1)[0] or text[:POST_TITLE_CHARS]
    return cut + "…"


@functools.cache
def _linkifier() -> Any:
    from linkify_it import LinkifyIt  # type: ignore[import-untyped]

    return LinkifyIt(options={"fuzzy_link": True, "fuzzy_email": False})


def text_links(text: str) -> tuple[str, ...]:
    """The links written as plain text in a post (``arxiv.org/abs/2503.12365``), canonical;
    a link its client cut for display (``huggingface.co/papers/2503.1...``) is no link."""
    found: dict[str, None] = {}
    for m in _linkifier().match(text) or ():
        rest = text[m.last_index : m.last_index + 3]
        if rest.startswith(("...", "…")):
            continue
        url = m.url
        if not m.raw.lower().startswith(("http://", "https://")):
            if "/" not in m.raw:
                continue  # "model.pt", "setup.py": a bare name is too often no link
            url = "https://" + url.removeprefix("http://")  # shown without its scheme
        canonical = canonical_url_or_none(url)
        if canonical:
            found.setdefault(canonical, None)
    return tuple(found)


def as_post(entry: ParsedEntry, author: str) -> ParsedEntry:
    """A feed entry as a social post: a title from its text, the profile as its author,
    the links its text writes out (Bluesky's feed gives no markup), and the OpenReview and
    PMLR papers its links name beside its arXiv ids and DOIs."""
    own = {entry.url} if entry.url else set()
    found = (*entry.links, *text_links(entry.text))
    links = tuple(dict.fromkeys(u for u in found if u not in own))[:MAX_LINKS]
    refs = dict.fromkeys((*entry.refs, *venue_refs(links)))
    return replace(
        entry,
        title=entry.title or _post_title(entry),
        author=entry.author or author,
        links=links,
        refs=tuple(refs),
    )


class _ProfileConnector:
    """A profile whose posts are one RSS feed: resolved and read as a feed."""

    kind = ""
    label = ""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._feeds = FeedConnector()

    def _spec(self, rss_url: str, profile_url: str, handle: str) -> SourceSpec:
        return SourceSpec(
            self.kind,
            rss_url,
            canonical_url=canonicalize_url(rss_url),
            home_url=profile_url,
            config={"handle": handle},
        )

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        """Read the profile's feed once: it must be one, and it gives the title."""
        found = await self._feeds.resolve(SourceSpec("feed", spec.url), ctx)
        return replace(spec, title=found.title or spec.title)

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        return {}

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        result = await self._feeds.fetch(source, ctx)
        if result.entries is None:
            return result
        handle = str(source.config.get("handle") or source.title or source.url)
        return replace(result, entries=tuple(as_post(e, handle) for e in result.entries))


class BlueskyConnector(_ProfileConnector):
    """``https://bsky.app/profile/<handle>`` (or its DID), followed through its RSS."""

    kind = "bluesky"
    label = "Bluesky"

    def parse_spec(self, text: str) -> SourceSpec | None:
        url = text.strip()
        if url.lower().startswith("bluesky:"):  # bluesky:alice.bsky.social
            url = "https://bsky.app/profile/" + url[len("bluesky:") :].strip()
        if url.lower().startswith("bsky.app/"):
            url = "https://" + url
        parts = urlsplit(url)
        base = urlsplit(self._settings.bluesky_url)
        own = parts.netloc.lower() in ("bsky.app", "www.bsky.app")
        configured = parts.netloc.lower() == base.netloc.lower()
        if parts.scheme not in ("http", "https") or not (own or configured):
            return None
        m = _BSKY_PROFILE.match(parts.path)
        if m is None and configured and not own and not parts.path.startswith("/profile/"):
            return None  # another page of the configured host (tests serve it on loopback)
        if m is None:
            raise InvalidInputError(
                f"{text.strip()}: follow a Bluesky profile, https://bsky.app/profile/<handle>"
            )
        actor = m.group("actor").lstrip("@").lower()
        if not (_HANDLE.match(actor) or _DID.match(actor)):
            raise InvalidInputError(f"{actor!r} is not a Bluesky handle (name.bsky.social)")
        root = self._settings.bluesky_url.rstrip("/")
        profile = f"{root}/profile/{actor}"
        return self._spec(profile + "/rss", profile, "@" + actor)

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        # Bluesky publishes no limit for its RSS; one connection, a second apart, is gentle.
        policy = HostPolicy(max_connections=1, min_interval=1.0, max_retries=2)
        host = urlsplit(settings.bluesky_url).hostname or "bsky.app"
        return dict.fromkeys({"bsky.app", host}, policy)


class MastodonConnector(_ProfileConnector):
    """``https://<instance>/@<user>`` or ``@user@instance``, followed through its RSS."""

    kind = "mastodon"
    label = "Mastodon"

    def parse_spec(self, text: str) -> SourceSpec | None:
        raw = text.strip()
        prefixed = raw.lower().startswith("mastodon:")
        if prefixed:  # mastodon:@user@instance, mastodon:https://instance/@user
            raw = raw[len("mastodon:") :].strip()
        address = _MASTODON_ADDRESS.match(raw)
        if address is not None:
            return self._profile("https", address.group("instance"), address.group("user"))
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            if prefixed:
                raise InvalidInputError(f"{text.strip()}: give mastodon:@user@instance")
            return None
        host = parts.netloc.lower()
        if (parts.hostname or "") in NOT_MASTODON:
            return None
        m = _MASTODON_PATH.match(parts.path)
        if m is None and prefixed:
            raise InvalidInputError(f"{text.strip()}: give mastodon:@user@instance")
        if m is None:
            return None
        if m.group("remote"):
            # Another instance's account seen from this one: its feed is at its home.
            return self._profile("https", m.group("remote"), m.group("user"))
        return self._profile(parts.scheme, host, m.group("user"))

    def _profile(self, scheme: str, instance: str, user: str) -> SourceSpec:
        instance = instance.lower()
        profile = f"{scheme}://{instance}/@{user}"
        return self._spec(profile + ".rss", profile, f"@{user}@{instance}")

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        """The profile's RSS; when the site serves none there (a ``/@name`` page of a site
        that is no Mastodon instance), the page's own feed, followed as a plain feed."""
        try:
            return await super().resolve(spec, ctx)
        except (FetchError, ParseError) as exc:
            if not spec.home_url:
                raise
            try:
                return await self._feeds.resolve(SourceSpec("feed", spec.home_url), ctx)
            except SourceError:
                raise exc from None
