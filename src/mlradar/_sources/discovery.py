"""Telling a feed from a web page, and finding the feeds a web page links to.

``sniff`` looks at the first bytes only, so it is cheap enough to run on every response.
``discover_feeds`` reads ``<link rel="alternate">`` elements with the stdlib HTML parser,
which never raises on broken markup.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urljoin, urlsplit

DocumentKind = Literal["empty", "binary", "feed", "json", "html", "xml", "text"]

#: Link types that autodiscovery follows (``<link rel="alternate" type=...>``).
FEED_LINK_TYPES: frozenset[str] = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_HTML_ROOTS = frozenset({"html", "head", "body"})
_SNIFF_BYTES = 64 * 1024
#: How much of a page autodiscovery reads: feed links live in the head, near the top.
DISCOVERY_MAX_CHARS = 2 * 1024 * 1024

_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"RIFF",
    b"\x7fELF",
)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# "<?" in the four wide encodings, for documents that start without a BOM.
_WIDE_MARKERS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
# Skip the prolog (declaration, processing instructions, comments, doctype with its
# internal subset) to reach the first element's name.  The possessive "*+" forbids the
# backtracking that would make a long run of spaces before a non-element exponential.
_FIRST_ELEMENT = re.compile(
    r"(?:\s|<\?.*?\?>|<!--.*?-->|<!doctype[^\[>]*(?:\[.*?\])?\s*>)*+<([A-Za-z][\w:.-]*)",
    re.IGNORECASE | re.DOTALL,
)
# A feed root further in: servers that print a warning before the document are common.
_FEED_ROOT_ANYWHERE = re.compile(r"<(?:[\w.-]+:)?(?:rss|feed|RDF|channel)[\s>]")
_HTML_DOCTYPE = re.compile(r"\s*+(?:<!--.*?-->\s*+)*+<!doctype\s+html", re.IGNORECASE | re.DOTALL)


def wide_encoding(content: bytes) -> str | None:
    """The UTF-16/32 codec a document is written in (by BOM or by how ``<`` is encoded),
    or None for ASCII-compatible documents."""
    for bom, codec in _WIDE_BOMS:
        # The UTF-32-LE BOM starts with the UTF-16-LE one: the UTF-32 BOMs are tried first.
        if content.startswith(bom):
            return codec
    for marker, codec in _WIDE_MARKERS:
        if content.startswith(marker):
            return codec
    return None


def _head_text(content: bytes) -> str:
    head = content[:_SNIFF_BYTES]
    codec = wide_encoding(head)
    if codec is not None:
        return head.decode(codec, "ignore").lstrip("\ufeff")
    return head.decode("utf-8", "ignore").lstrip("\ufeff")


def _mime_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff(content: bytes, content_type: str | None = None) -> DocumentKind:
    """What a fetched document is, from its first bytes (and its Content-Type for JSON).

    ``feed``: XML whose root is ``rss``, ``feed``, ``rdf:RDF`` or ``channel``; ``json``: a
    JSON document (a JSON Feed or not: that takes a full parse); ``html``: a web page;
    ``xml``: some other XML; ``text``: anything else that is text.
    """
    if not content.strip():
        return "empty"
    if content.startswith(_BINARY_MAGIC):
        return "binary"
    if wide_encoding(content) is None and b"\x00" in content[:1024]:
        return "binary"
    text = _head_text(content).lstrip()
    if text.startswith(("{", "[")):
        return "json"
    m = _FIRST_ELEMENT.match(text)
    if m is None:
        if _HTML_DOCTYPE.match(text):
            return "html"
        if _FEED_ROOT_ANYWHERE.search(text):
            return "feed"
        return "html" if _mime_type(content_type) == "text/html" and "<" in text else "text"
    root = m.group(1).lower().rsplit(":", 1)[-1]
    if root in _FEED_ROOTS:
        return "feed"
    if root in _HTML_ROOTS or _HTML_DOCTYPE.match(text):
        return "html"
    return "xml"


def looks_like_feed(content: bytes, content_type: str | None) -> bool:
    """Whether a fetched document is a feed (RSS, Atom, RDF or JSON Feed) rather than a web
    page; cheap: it reads the first bytes, and scans JSON for the JSON Feed version URL."""
    kind = sniff(content, content_type)
    if kind == "feed":
        return True
    if kind == "json":
        return b"jsonfeed.org/version" in content or _mime_type(content_type) == (
            "application/feed+json"
        )
    return False


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
            return
        if tag != "link":
            return
        values = {name: (value or "") for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        mime = values.get("type", "").split(";", 1)[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rels and mime in FEED_LINK_TYPES and href:
            self.hrefs.append(href)

    handle_startendtag = handle_starttag


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """The feeds a web page announces with ``<link rel="alternate" type="application/rss+xml"
    | atom+xml | rdf+xml | feed+json | json" href=...>``: absolute http(s) URLs, in document
    order, without duplicates.  ``<base href>`` is honoured.  Broken markup is fine."""
    if isinstance(html, bytes):
        text = _head_text(html) if wide_encoding(html) else html.decode("utf-8", "replace")
    else:
        text = html
    collector = _LinkCollector()
    collector.feed(text[:DISCOVERY_MAX_CHARS])
    collector.close()
    base = urljoin(base_url, collector.base) if collector.base else base_url
    found: dict[str, None] = {}
    for href in collector.hrefs:
        try:
            absolute = urljoin(base, href)
            scheme = urlsplit(absolute).scheme.lower()
        except ValueError:
            continue
        if scheme in ("http", "https"):
            found.setdefault(absolute, None)
    return list(found)
