"""Parsing a fetched feed: bytes in, :class:`~mlradar._model.ParsedFeed` out.

RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF go through feedparser; JSON Feed (which feedparser
6.0 does not read) through the stdlib ``json`` module.  Every entry is then normalised the
same way: HTML sanitized by nh3, plain text for search, dates as aware UTC datetimes, arXiv
ids and DOIs extracted, a stable key and a content hash.

feedparser's own HTML sanitizer and relative-URI resolver are turned off
(:data:`FEEDPARSER_OPTIONS`): nh3 does both, and feedparser runs about twice as fast
without them.

Safety:

* documents over :data:`MAX_FEED_BYTES`, empty, binary, HTML pages and JSON that is no JSON
  Feed are refused with a :class:`~mlradar.exceptions.ParseError` before any XML parsing;
* :func:`~mlradar._sources.prepare.prepare_xml` decides the charset, defuses the DTD (no
  external entity, no expansion bomb survives) and repairs stray ``<``/``&`` so that broken
  feeds rarely reach feedparser's slow loose parser; expat never loads external entities;
* feedparser gets a ``BytesIO``, never the raw bytes (it would take short ones for a path);
* whatever feedparser raises becomes a ParseError for this document;
* HTML goes through nh3 (see :mod:`mlradar._content.html`), entry links must be http(s).
"""

from __future__ import annotations

import gc
import html as _html
import io
import json
import re
import time
import xml.sax
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from mlradar._content.html import extract_links, html_to_text, sanitize_html, sanitized_text
from mlradar._identity.arxiv import extract_arxiv_ids
from mlradar._identity.doi import extract_dois
from mlradar._identity.entries import content_hash, entry_key
from mlradar._identity.refs import extract_refs
from mlradar._identity.urls import canonical_url_or_none
from mlradar._model import ParsedEntry, ParsedFeed
from mlradar._sources.decode import decode_as_declared
from mlradar._sources.discovery import discover_feeds, sniff
from mlradar._sources.fastparse import parse_clean
from mlradar._sources.prepare import count_markup, prepare_xml
from mlradar.exceptions import ParseError

#: Larger documents are refused (the fetcher caps downloads lower; this does not rely on it).
MAX_FEED_BYTES = 32 * 1024 * 1024
#: Tags (``<``) and entity references (``&``) outside CDATA a document may hold.  feedparser
#: spends up to ~30 µs per tag (unclosed ones in its loose parser) and ~2 µs per reference,
#: so these bound a parse to a few seconds.  The real feeds measured hold at most 7,000 of
#: either; escaped-HTML feeds hold about one reference per 10 bytes.
MAX_TAGS = 100_000
MAX_REFERENCES = 1_000_000
#: Entries read from one feed; the rest are dropped with a warning.
MAX_ENTRIES = 5000
#: The plain text kept per entry for search.
MAX_TEXT_CHARS = 100_000
MAX_TITLE_CHARS = 1000
MAX_AUTHOR_CHARS = 500
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 200
#: Links kept per entry.
MAX_LINKS = 200
#: feedparser's own HTML sanitizer and relative-URI resolver stay off: nh3 does both.
FEEDPARSER_OPTIONS: dict[str, bool] = {"sanitize_html": False, "resolve_relative_uris": False}
_XML_MEDIA_TYPE = "application/xml"
_WHITESPACE = re.compile(r"\s+")
_CATEGORY_SEP = "\x1e"


# -- small value helpers ----------------------------------------------------------------------


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = _WHITESPACE.sub(" ", text).strip()
    return text[:limit] or None


def _plain(value: str | None, mime: str | None) -> str | None:
    """Plain text of a title-like value that may be HTML or (double-)escaped text."""
    if not value:
        return None
    if mime is not None and "html" in mime:
        return html_to_text(value)
    return _html.unescape(value) if "&" in value else value


def _http_url(url: str | None, base: str) -> str | None:
    """``url`` made absolute against ``base``, if it is an http(s) URL; else None."""
    if not url or not isinstance(url, str):
        return None
    try:
        absolute = urljoin(base, url.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    return absolute if parts.scheme.lower() in ("http", "https") and parts.netloc else None


#: Dates up to the Unix epoch are placeholders ("Mon, 01 Jan 0001" from Hugo, epoch 0), not
#: dates: they count as missing.
_NO_DATE_BEFORE = datetime(1970, 1, 2, tzinfo=UTC)


def _aware(dt: datetime) -> datetime | None:
    try:
        aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return aware if aware >= _NO_DATE_BEFORE else None


def parse_date(raw: str | None) -> datetime | None:
    """An aware UTC datetime from an RFC 822 or ISO 8601 date string, or None.

    Naive times are taken as UTC.  Used when feedparser could not read a date, and for
    JSON Feed dates.
    """
    if not raw or not isinstance(raw, str):
        return None
    raw = raw.strip()
    try:
        return _aware(datetime.fromisoformat(raw))
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # email.utils reads the year "0001" as 2001: a year the text does not spell is invented.
    return _aware(parsed) if str(parsed.year) in raw else None


def _from_struct(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return _aware(datetime(*value[:6], tzinfo=UTC))
    except (ValueError, OverflowError):
        return None


# -- building entries -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RawEntry:
    """One entry as read from any format, before normalisation."""

    guid: str | None
    link: str | None
    title: str | None
    author: str | None
    summary_html: str | None
    content_html: str | None
    html_base: str
    categories: tuple[str, ...]
    published_at: datetime | None
    updated_at: datetime | None


def _build_entry(raw: _RawEntry) -> ParsedEntry:
    content = sanitize_html(raw.content_html, raw.html_base) if raw.content_html else None
    summary = sanitize_html(raw.summary_html, raw.html_base) if raw.summary_html else None
    if not content:
        content = None
    if not summary or summary == content:
        summary = None
    body = content or summary or ""
    text = sanitized_text(body)[:MAX_TEXT_CHARS]
    title = _clip(raw.title, MAX_TITLE_CHARS)
    author = _clip(raw.author, MAX_AUTHOR_CHARS)
    url = canonical_url_or_none(raw.link)
    categories: dict[str, None] = {}
    for term in raw.categories:
        clipped = _clip(term, MAX_CATEGORY_CHARS)
        if clipped and len(categories) < MAX_CATEGORIES:
            categories.setdefault(clipped, None)
    haystack = "\n".join(p for p in (raw.link, title, content, summary) if p)
    arxiv_ids = tuple(extract_arxiv_ids(haystack))
    dois = tuple(extract_dois(haystack))
    links = _links(content, summary, url)
    date = raw.published_at or raw.updated_at
    key = entry_key(
        raw.guid,
        raw.link,
        [title or "", date.isoformat() if date else "", "" if title else text[:1000]],
    )
    fields = (
        url,
        raw.link,
        title,
        author,
        summary,
        content,
        _CATEGORY_SEP.join(categories),
        raw.published_at.isoformat() if raw.published_at else None,
        raw.updated_at.isoformat() if raw.updated_at else None,
        " ".join(arxiv_ids),
        " ".join(dois),
    )
    return ParsedEntry(
        key=key,
        url=url,
        link=raw.link,
        title=title,
        author=author,
        summary_html=summary,
        content_html=content,
        text=text,
        categories=tuple(categories),
        published_at=raw.published_at,
        updated_at=raw.updated_at,
        arxiv_ids=arxiv_ids,
        dois=dois,
        content_hash=content_hash(fields),
        links=links,
        # Every OpenReview, PMLR, ACL or S2 link is a mention (a newsletter names many papers).
        refs=extract_refs((url, *links)),
    )


def _links(content: str | None, summary: str | None, own: str | None) -> tuple[str, ...]:
    """The canonical links of the entry's content (its summary's too), less its own link."""
    found: dict[str, None] = {}
    for part in (content, summary):
        for link in extract_links(part or ""):
            canonical = canonical_url_or_none(link)
            if canonical and canonical != own:
                found.setdefault(canonical, None)
    return tuple(found)[:MAX_LINKS]


def _canonical_link_key(raw: _RawEntry, entry: ParsedEntry) -> str | None:
    link = canonical_url_or_none(raw.link)
    return "url:" + link if link else None


def _written_link_key(raw: _RawEntry, entry: ParsedEntry) -> str | None:
    return "url:" + raw.link.strip() if raw.link and raw.link.strip() else None


def _content_key(raw: _RawEntry, entry: ParsedEntry) -> str | None:
    date = raw.published_at or raw.updated_at
    parts = [raw.link or "", entry.title or "", date.isoformat() if date else ""]
    return entry_key(None, None, [*parts, entry.text[:1000]])


def _unique_keys(raws: Sequence[_RawEntry], entries: list[ParsedEntry]) -> list[ParsedEntry]:
    """Make keys unique within the feed, so that no entry hides another.

    An entry repeated verbatim is dropped.  Entries sharing a key are re-keyed, all of them,
    by the next trait that tells them apart: the canonical link (a feed that gives every
    entry the same guid must not collapse into one item), the link as written (a changelog
    whose entries differ only by ``#fragment``), and last a hash of link, title, date and
    text (the same guid and link with other content: a distinct entry).
    """
    seen: set[tuple[str, str]] = set()
    pairs = []
    for raw, entry in zip(raws, entries, strict=True):
        if (entry.key, entry.content_hash) not in seen:
            seen.add((entry.key, entry.content_hash))
            pairs.append((raw, entry))
    rekeys = (_canonical_link_key, _written_link_key, _content_key)
    for rekey in rekeys:
        counts = Counter(entry.key for _, entry in pairs)
        if all(n == 1 for n in counts.values()):
            break
        rekeyed = []
        for raw, entry in pairs:
            new = rekey(raw, entry) if counts[entry.key] > 1 else None
            rekeyed.append((raw, replace(entry, key=new) if new else entry))
        pairs = rekeyed
    return [entry for _, entry in pairs]


def _finish(
    url: str, title: str | None, home: str | None, raws: list[_RawEntry], warnings: list[str]
) -> ParsedFeed:
    # A truncated feed can end in an entry with nothing left in it: no item to store.
    raws = [r for r in raws if any(getattr(r, f) for f in _RawEntry.__slots__ if f != "html_base")]
    if len(raws) > MAX_ENTRIES:
        warnings.append(
            f"the feed has {len(raws):,} entries; only the first {MAX_ENTRIES:,} were stored "
            f"(the limit per feed), the other {len(raws) - MAX_ENTRIES:,} were dropped"
        )
        raws = raws[:MAX_ENTRIES]
    entries = _unique_keys(raws, [_build_entry(r) for r in raws])
    warning = "; ".join(warnings) if warnings else None
    return ParsedFeed(
        title=_clip(title, MAX_TITLE_CHARS),
        home_url=_http_url(home, url),
        entries=tuple(entries),
        warning=_clip(warning, 500),
    )


# -- feedparser (RSS, Atom, RDF) -----------------------------------------------------------


def _detail(entry: Mapping[str, Any], name: str) -> tuple[str | None, str | None, str | None]:
    """(value, mime type, xml:base) of a feedparser text construct."""
    detail = entry.get(f"{name}_detail")
    value = entry.get(name)
    if not isinstance(value, str):
        return None, None, None
    if isinstance(detail, Mapping):
        return value, detail.get("type"), detail.get("base")
    return value, None, None


def _as_html(value: str | None, mime: str | None) -> str | None:
    if not value or not value.strip():
        return None
    if mime is not None and "html" not in mime:
        return _html.escape(value)
    return value


def _fp_content(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(the longest content value as HTML, its xml:base)."""
    best: tuple[str | None, str | None] = (None, None)
    for item in entry.get("content") or ():
        if not isinstance(item, Mapping):
            continue
        value = _as_html(item.get("value"), item.get("type"))
        if value and len(value) > len(best[0] or ""):
            best = (value, item.get("base"))
    return best


def _fp_date(entry: dict[str, Any], name: str) -> datetime | None:
    # dict.get, not entry.get: FeedParserDict answers "updated" with "published" when the
    # entry has no update date, which would invent one.
    parsed = dict.get(entry, f"{name}_parsed")
    if parsed is not None:  # feedparser read it: a placeholder date stays missing
        return _from_struct(parsed)
    return parse_date(dict.get(entry, name))


def _fp_author(entry: Mapping[str, Any]) -> str | None:
    detail = entry.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    author = name if isinstance(name, str) and name.strip() else entry.get("author")
    return _plain(author, "text/html") if isinstance(author, str) else None


def _fp_raw_entry(entry: dict[str, Any], url: str) -> _RawEntry:
    title, title_type, _ = _detail(entry, "title")
    summary, summary_type, summary_base = _detail(entry, "summary")
    summary_html = _as_html(summary, summary_type)
    content_html, content_base = _fp_content(entry)
    if content_html is not None and summary_html is not None and content_html == summary_html:
        summary_html = None
    link = entry.get("link")
    guid = entry.get("id")
    tags = [
        t.get("term") or t.get("label") for t in entry.get("tags") or () if isinstance(t, Mapping)
    ]
    return _RawEntry(
        guid=guid if isinstance(guid, str) else None,
        link=_http_url(link if isinstance(link, str) else None, url),
        title=_plain(title, title_type),
        author=_fp_author(entry),
        summary_html=summary_html,
        content_html=content_html,
        html_base=_http_url(content_base or summary_base, url) or url,
        categories=tuple(t for t in tags if isinstance(t, str)),
        published_at=_fp_date(entry, "published"),
        updated_at=_fp_date(entry, "updated"),
    )


def _bozo_message(exc: BaseException | None) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return (
            f"ill-formed XML at line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
            f"{exc.getMessage()}"
        )
    if exc is None:
        return "ill-formed document"
    text = _WHITESPACE.sub(" ", str(exc)).strip()
    return text or type(exc).__name__


def _is_xml_failure(exc: BaseException | None) -> bool:
    """Whether a bozo exception means the XML itself was broken (not a mere encoding note)."""
    return not isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType)


def _root_name(content: bytes) -> str | None:
    m = re.search(rb"<([A-Za-z][\w:.-]*)", content[:65536])
    return m.group(1).decode("ascii", "replace") if m else None


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: feedparser allocates a dict per element, and the
    collector's passes over them cost 15% of the parse time (measured on the real feeds).
    Reference counting still frees everything; only cycles wait until the parse ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def too_much_markup(content: bytes, tags: int, refs: int) -> str:
    """Why a feed over the markup limits is refused, in a user's words."""
    items = content.count(b"<item") + content.count(b"<entry")
    size = f"about {items:,} {'entry' if items == 1 else 'entries'}, " if items else ""
    return (
        f"the feed is too big to read safely ({size}{tags:,} XML tags and {refs:,} "
        f"entity references; mlradar reads at most {MAX_TAGS:,} tags and "
        f"{MAX_REFERENCES:,} references per feed): nothing was stored; a feed of the "
        "newest entries only would fit"
    )


def _parse_xml(
    content: bytes, url: str, content_type: str | None, *, root_is_feed: bool
) -> ParsedFeed:
    tags, refs = count_markup(content, (MAX_TAGS, MAX_REFERENCES))
    if tags > MAX_TAGS or refs > MAX_REFERENCES:
        raise ParseError(url, too_much_markup(content, tags, refs))
    prepared = prepare_xml(content, content_type)
    # Bad bytes replaced one by one, not the whole feed re-read in another charset.
    decoded = decode_as_declared(prepared.data, prepared.charset)
    prepared = replace(
        prepared,
        data=decoded.data,
        charset=decoded.charset,
        warning="; ".join(w for w in (prepared.warning, decoded.warning) if w) or None,
    )
    media_type = _XML_MEDIA_TYPE + (f"; charset={prepared.charset}" if prepared.charset else "")
    try:
        with _no_cyclic_gc():
            # A clean document is read by lxml, exactly as feedparser would read it.
            result = parse_clean(prepared.data, prepared.charset).result or feedparser.parse(
                io.BytesIO(prepared.data),
                # No content-location: feedparser would resolve guids against it, and a key
                # must not change when the feed moves.  Links are resolved here instead.
                response_headers={"content-type": media_type},
                **FEEDPARSER_OPTIONS,
            )
    except (Exception, RecursionError) as error:
        # feedparser is third-party code fed hostile input: whatever breaks inside it is
        # this document's fault, and must end as this source's error, not the run's.
        message = f"the feed parser failed: {type(error).__name__}: {error}"
        raise ParseError(url, _WHITESPACE.sub(" ", message)[:300]) from error
    fp_entries = [e for e in result.get("entries") or () if isinstance(e, dict)]
    exc = result.get("bozo_exception") if result.get("bozo") else None
    version = result.get("version") or ""
    if not fp_entries:
        if exc is not None and _is_xml_failure(exc):
            raise ParseError(url, f"not a readable feed: {_bozo_message(exc)}")
        if not version and not root_is_feed:
            if "html" in (content_type or "").lower():
                raise _html_page_error(content, url)
            root = _root_name(prepared.data)
            if root is None:
                raise ParseError(url, "this document is neither XML nor JSON, so not a feed")
            raise ParseError(url, f"this XML document is not a feed (its root element is <{root}>)")
    warnings = [prepared.warning] if prepared.warning else []
    if exc is not None:
        warnings.append(_bozo_message(exc))
    feed = result.get("feed") or {}
    title, title_type, _ = _detail(feed, "title")
    home = feed.get("link")
    raws = [_fp_raw_entry(e, url) for e in fp_entries]
    return _finish(
        url, _plain(title, title_type), home if isinstance(home, str) else None, raws, warnings
    )


# -- JSON Feed ------------------------------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _json_id(value: object) -> str | None:
    """JSON Feed ids are strings, but some feeds write numbers."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _str(value)


def _json_author(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    """The first named author of the item, else of the feed (JSON Feed 1.1 ``authors``,
    1.0 ``author``)."""
    for holder in (item, feed):
        authors = holder.get("authors")
        people: Iterable[Any] = authors if isinstance(authors, list) else [holder.get("author")]
        for person in people:
            if isinstance(person, Mapping):
                name = person.get("name")
                if isinstance(name, str) and name.strip():
                    return name
    return None


def _json_raw_entry(item: Mapping[str, Any], feed: Mapping[str, Any], url: str) -> _RawEntry:
    link = _http_url(_str(item.get("url")) or _str(item.get("external_url")), url)
    content_html = _as_html(_str(item.get("content_html")), "text/html") or _as_html(
        _str(item.get("content_text")), "text/plain"
    )
    summary = _str(item.get("summary"))
    tags = item.get("tags")
    return _RawEntry(
        guid=_json_id(item.get("id")),
        link=link,
        title=_plain(_str(item.get("title")), "text/plain"),
        author=_json_author(item, feed),
        summary_html=_as_html(summary, "text/plain"),
        content_html=content_html,
        html_base=link or url,
        categories=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        published_at=parse_date(_str(item.get("date_published"))),
        updated_at=parse_date(_str(item.get("date_modified"))),
    )


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    return value


def _parse_json(content: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        message = _WHITESPACE.sub(" ", str(exc))[:200]
        raise ParseError(url, f"this is not valid JSON ({message}), so not a JSON Feed") from None
    if b"\\u0000" in content:
        doc = _without_nul(doc)  # JSON may escape NUL; no database text column holds it
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise ParseError(url, "this JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "this JSON Feed has no list of items")
    raws = [_json_raw_entry(i, doc, url) for i in items if isinstance(i, Mapping)]
    return _finish(
        url,
        _str(doc.get("title")),
        _str(doc.get("home_page_url")),
        raws,
        [],
    )


# -- entry point ----------------------------------------------------------------------------


def _html_page_error(content: bytes, url: str) -> ParseError:
    feeds = discover_feeds(content, url)
    if feeds:
        named = ", ".join(feeds[:3]) + (" ..." if len(feeds) > 3 else "")
        return ParseError(url, f"this is an HTML page, not a feed; it links to the feed(s) {named}")
    return ParseError(url, "this is an HTML page, not a feed, and it links to no feed")


def parse_feed(content: bytes, url: str, *, content_type: str | None = None) -> ParsedFeed:
    """Parse a fetched feed document.

    ``url`` is the URL it was fetched from (relative links resolve against it);
    ``content_type`` the response's Content-Type header, whose charset is honoured.

    Raises :class:`~mlradar.exceptions.ParseError` with a one-line reason when the document
    is not a feed: empty, binary, too large, an HTML page (naming the feeds it links to),
    JSON that is not a JSON Feed, XML that is not a feed, or a feed too broken to yield any
    entry.  A broken feed from which entries could be read is no error: its entries come
    back with the problem in :attr:`ParsedFeed.warning`.
    """
    if len(content) > MAX_FEED_BYTES:
        raise ParseError(
            url,
            f"the document is too large ({len(content) / 1e6:.1f} MB; "
            f"the limit is {MAX_FEED_BYTES / 1e6:.0f} MB)",
        )
    kind = sniff(content, content_type)
    if kind == "empty":
        raise ParseError(url, "the document is empty")
    if kind == "binary":
        raise ParseError(url, "this is binary data, not a feed")
    if kind == "html":
        raise _html_page_error(content, url)
    if kind == "json":
        return _parse_json(content, url)
    if kind == "text":
        if "html" in (content_type or "").lower():
            raise _html_page_error(content, url)
        raise ParseError(url, "this document is neither XML nor JSON, so not a feed")
    return _parse_xml(content, url, content_type, root_is_feed=kind == "feed")
