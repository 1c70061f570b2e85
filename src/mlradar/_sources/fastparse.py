"""A compiled fast path for clean RSS 2.0 and Atom 1.0 feeds, exact to feedparser.

feedparser is pure Python: a SAX callback and a dict per element make it ~95% of the
cost of a cold update.  For a document that is *clean* this module reads the same fields
with lxml (libxml2) instead and hands back feedparser's result shape (``entries``,
``feed``, ``bozo``, ``version``) holding exactly the values feedparser would have put
under the keys :mod:`mlradar._sources.feed` reads: ``id``, ``link``, ``title(_detail)``,
``summary(_detail)``, ``content``, ``author(_detail)``, ``tags``, ``published(_parsed)``,
``updated(_parsed)`` and the feed's ``title(_detail)`` and ``link``.  The same
``_fp_raw_entry`` then turns either result into entries, so both paths share every step
after the parse.

Why not fastfeedparser: it was measured first (``docs/benchmarks.md``, the feed parse path).  On the
real feeds 3,591 of 4,090 entries came out different from feedparser's, for reasons no
mapping can undo: it synthesizes ``content`` from an RSS description and a description
from content, takes a guid from the link, and keeps no raw date strings.  lxml, already a
dependency, gives the element tree; the feedparser rules are applied here on it.

"Clean" is decided conservatively, and anything else returns a :class:`Fallback` naming
the reason, so that feedparser reads it as before:

* the charset feedparser would use is UTF-8 and the bytes decode as UTF-8 (no encoding
  override, no guess); no DOCTYPE; every namespace declared on the root element;
* expat, the parser feedparser's strict mode runs on, accepts the document as well-formed
  namespaced XML (so feedparser would neither be bozo nor switch to its loose parser);
* the root is ``<rss>`` with one ``<channel>``, or an Atom 1.0 ``<feed>``;
* every element inside an entry is one whose feedparser semantics are reproduced here
  (title, link, guid/id, description/summary, content, content:encoded, dates, one
  author, categories), or one feedparser stores under a key mlradar never reads; text
  fields hold text only (no child elements: feedparser would treat them as inline XHTML);
  at the feed level nothing but ``title``, ``link``, ``<image>`` and entries may touch
  the feed's title or link.

The feedparser rules reproduced (read from feedparser 6.0's ``mixin.py`` and
``namespaces/_base.py``): values are stripped; links and permalink guids go through
feedparser's ``_urljoin`` against a base URI that follows ``xml:base`` *including its
stickiness* (a base is not reset when the element that set it closes under a parent with
no base); the "UTF-8 read as Latin-1" repair and the CP1252 mapping; the HTML guess for
``text/plain`` values outside Atom; the first non-empty title wins; later same-depth
values win for other fields; a guid that is a permalink becomes the link when none came
before it; content is copied into the summary when there is none; categories merge the
text into a preceding term-less tag; RSS authors lose an e-mail address.
``tests/test_fastparse.py`` compares the two paths entry by entry on every real feed and
all three corpora.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Content types the fast path reproduces; others (xhtml, base64-encoded binary) fall back.
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: The XML declarations left as they are; feedparser rewrites any other, expat may not agree.
_XML_DECL = re.compile(
    rb"<\?xml\s+version\s*=\s*[\"']1\.0[\"']"
    rb"(?:\s+encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"'])?"
    rb"(?:\s+standalone\s*=\s*[\"'](?:yes|no)[\"'])?\s*\?>"
)
_BASE_ATTRIBUTE = re.compile(rb"base\s*=")
#: The characters feedparser's CP1252 mapping changes (its keys are U+0080..U+009F).
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_AMP_NAME = re.compile("&([A-Za-z0-9_]+);")
#: feedparser's e-mail pattern for RSS authors (mixin._sync_author_detail), verbatim.
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
#: Entry-level feedparser handlers whose effect reaches no key mlradar reads.
_HARMLESS_IN_ENTRY = frozenset({"enclosure", "media_content", "media_thumbnail", "comments"})
#: Feed-level handlers that could change the feed's title or link, or open an entry.
_RISKY_IN_FEED = frozenset(
    {
        "title",
        "dc_title",
        "link",
        "image",
        "textinput",
        "textInput",
        "source",
        "item",
        "entry",
        "media_title",
        "summary",
        "content",
        "content_encoded",
    }
)
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
#: Keys of an entry that mlradar reads; an unknown element by one of these names would land
#: on them in feedparser.
_READ_KEYS = frozenset(
    {
        "id",
        "link",
        "title",
        "title_detail",
        "summary",
        "summary_detail",
        "content",
        "author",
        "author_detail",
        "authors",
        "tags",
        "published",
        "published_parsed",
        "updated",
        "updated_parsed",
        "guidislink",
        "links",
    }
)


@dataclass(frozen=True, slots=True)
class FastResult:
    """A parse on the fast path: feedparser's result shape, or why it was not taken."""

    #: ``{"entries", "feed", "bozo", "version"}`` as feedparser returns them; None: fall back.
    result: dict[str, Any] | None
    #: Why the fast path was not taken (None when it was).
    reason: str | None = None


class _Unclean(Exception):
    """The document is outside what the fast path reproduces exactly."""


class _Feedparser:
    """feedparser's own helpers, imported once (feedparser is imported by feed.py anyway)."""

    def __init__(self) -> None:
        from feedparser.api import StrictFeedParser
        from feedparser.datetimes import _parse_date
        from feedparser.html import _cp1252
        from feedparser.mixin import _FeedParserMixin
        from feedparser.urls import _urljoin, make_safe_absolute_uri

        self.handlers = frozenset(
            name[len("_start_") :] for name in dir(StrictFeedParser) if name.startswith("_start_")
        ) | frozenset(
            name[len("_end_") :] for name in dir(StrictFeedParser) if name.startswith("_end_")
        )
        known = _FeedParserMixin.namespaces.items()
        self.namespaces: dict[str, str] = {k.lower(): v for k, v in known}
        self.parse_date: Callable[[str], time.struct_time | None] = _parse_date
        self.cp1252: dict[int, str] = _cp1252
        self.looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
        self.urljoin: Callable[[str, str], str] = _urljoin
        self.safe_absolute: Callable[[str, str], str] = make_safe_absolute_uri


_FP: _Feedparser | None = None


def _fp() -> _Feedparser:
    global _FP
    if _FP is None:
        _FP = _Feedparser()
    return _FP


# -- the document-level checks ------------------------------------------------------------------


def _check_document(data: bytes, charset: str | None) -> None:
    """Raise _Unclean unless feedparser would read ``data`` as UTF-8 with its strict parser."""
    import pyexpat

    head = data[:1024].lstrip(b"\xef\xbb\xbf")
    declared = None
    if head.startswith(b"<?xml"):
        m = _XML_DECL.match(head)
        if m is None:
            raise _Unclean("an unusual XML declaration")
        declared = m.group(1).decode("ascii").lower() if m.group(1) else None
    elif head.lstrip().startswith(b"<?xml"):
        raise _Unclean("text before the XML declaration")
    # RFC 3023 as feedparser applies it to application/xml: the charset, else the declaration.
    if (charset or declared or "utf-8") != "utf-8":
        raise _Unclean(f"the charset is {charset or declared}, not UTF-8")
    if b"<!DOCTYPE" in data[:4096] or b"<!doctype" in data[:4096]:
        raise _Unclean("a DOCTYPE")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unclean(f"not valid UTF-8 at byte {exc.start}") from None
    parser = pyexpat.ParserCreate("utf-8", " ")
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        raise _Unclean(f"expat rejects it: {exc}") from None


# -- the tree walk ------------------------------------------------------------------------------


def _text_of(el: Any) -> str:
    """The text of a leaf element (comments and processing instructions skipped)."""
    if len(el) == 0:
        return str(el.text or "")
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise _Unclean(f"<{_local(child)}> inside <{_local(el)}>")
        parts.append(child.tail or "")
    return "".join(parts)


def _local(el: Any) -> str:
    tag: str = el.tag
    return tag.rsplit("}", 1)[-1]


class _Walk:
    """feedparser's state machine, replayed on an lxml tree for the elements allowed."""

    def __init__(self, root: Any, fp: _Feedparser) -> None:
        self.fp = fp
        self.version = ""
        self.baseuri = ""
        self.basestack: list[str] = []
        self.track_base = False
        self.title_depth = -1
        self.depth = 0
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.namespacemap: dict[str | None, str] = {}
        # namespaces_in_use, as feedparser.track_namespace fills it from the root's xmlns.
        self.in_use: dict[str, str] = {}
        seen_uris: dict[str, int] = {}
        for prefix, uri in root.nsmap.items():
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                uri = lower = "http://backend.userland.com/rss"
            canonical = fp.namespaces.get(lower)
            if canonical is not None:
                self.namespacemap[prefix] = canonical
                self.in_use[canonical] = uri
            else:
                self.in_use[prefix or ""] = uri
                seen_uris[uri] = seen_uris.get(uri, 0) + 1
        if any(n > 1 for n in seen_uris.values()):
            raise _Unclean("one namespace bound to several prefixes")
        self._names: dict[str, str] = {}

    # -- names and bases, as feedparser derives them

    def method(self, el: Any) -> str:
        """The suffix of the ``_start_``/``_end_`` handler feedparser would call for ``el``."""
        tag: str = el.tag
        name = self._names.get(tag)
        if name is not None:
            return name
        if tag.startswith("{"):
            ns, local = tag[1:].split("}", 1)
        else:
            ns, local = "", tag
        lower = ns.lower()
        if "backend.userland.com/rss" in lower:
            ns = lower = "http://backend.userland.com/rss"
        local = local.lower()
        prefix = self.fp.namespaces.get(lower)
        if prefix:
            qualified = prefix.lower() + ":" + local
        elif ns:
            qualified = local
            for given, uri in self.in_use.items():
                if given and uri == ns:
                    qualified = given + ":" + local
                    break
        else:
            qualified = local
        if ":" in qualified:
            pre, suffix = qualified.split(":", 1)
            pre = self.namespacemap.get(pre, pre)
            name = (pre + "_" + suffix) if pre else suffix
        else:
            name = qualified
        self._names[tag] = name
        return name

    def start(self, el: Any) -> None:
        self.depth += 1
        if not self.track_base:
            return
        given = el.get(_XML_BASE)
        if given is None:
            given = el.get("base")
        base = given or self.baseuri
        if self.baseuri:
            self.baseuri = self.fp.safe_absolute(self.baseuri, base) or self.baseuri
        else:
            self.baseuri = self.fp.urljoin(self.baseuri, base)
        self.basestack.append(self.baseuri)

    def end(self) -> None:
        self.depth -= 1
        if not self.track_base:
            return
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]

    def skip(self, el: Any, risky: frozenset[str], where: str) -> None:
        """Walk a subtree feedparser stores nothing mlradar reads from, checking that."""
        self.start(el)
        for child in el:
            if isinstance(child.tag, str):
                name = self.method(child)
                if name in risky:
                    raise _Unclean(f"<{name}> inside {where}")
                self.skip(child, risky, where)
        self.end()

    # -- values, as feedparser's pop() finishes them

    def finish(self, text: str, *, resolve: bool = False) -> str:
        output = text.strip()
        if resolve and output:
            output = self.fp.urljoin(self.baseuri, output)
        return self.repair(output)

    def repair(self, output: str) -> str:
        if not output.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
            # str.translate with a dict costs a lookup per character: only when needed.
            if _C1_CONTROLS.search(output):
                output = output.translate(self.fp.cp1252)
        return output

    def content_type(self, el: Any, default: str) -> str:
        raw: str = el.get("type", default)
        kind = raw.lower()
        kind = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(kind, kind)
        if kind not in _TEXT_TYPES:
            raise _Unclean(f'<{_local(el)} type="{raw}">')
        if el.get("mode") is not None:
            raise _Unclean(f"<{_local(el)} mode=...>")
        return kind

    def text_construct(self, el: Any, default: str) -> tuple[str, dict[str, Any]]:
        """(value, detail) of a title/summary/description/content element."""
        kind = self.content_type(el, default)
        base = self.baseuri
        output = _text_of(el).strip()
        guess = not self.version.startswith("atom") and kind == "text/plain"
        if guess and self.fp.looks_like_html(output):
            kind = "text/html"
        return self.repair(output), {"type": kind, "base": base}

    # -- the feed

    def run(self, root: Any) -> dict[str, Any]:
        if root.tag == "rss":
            self.version = "rss"
            self.start(root)
            channels = [c for c in root if isinstance(c.tag, str)]
            if len(channels) != 1 or channels[0].tag != "channel":
                raise _Unclean("<rss> holds something other than one <channel>")
            self.container(channels[0], "item")
            self.end()
        elif root.tag == "{" + _ATOM_NS + "}feed":
            uris = {u.lower() for u in root.nsmap.values()}
            if uris & {"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}:
                raise _Unclean("an RSS 1.0 namespace on an Atom feed")
            self.version = "atom10"
            self.container(root, "entry")
        else:
            raise _Unclean(f"the root element is <{_local(root)}>, not rss or Atom 1.0")
        return {"entries": self.entries, "feed": self.feed, "bozo": 0, "version": self.version}

    def container(self, channel: Any, entry_name: str) -> None:
        if channel.attrib and set(channel.attrib) - {_XML_BASE, _XML_LANG}:
            raise _Unclean(f"attributes on <{_local(channel)}>")
        self.start(channel)
        for child in channel:
            if not isinstance(child.tag, str):
                continue
            name = self.method(child)
            if name == entry_name:
                self.entry(child)
            elif name == "title":
                self.feed_title(child)
            elif name == "link":
                self.link(child, self.feed, in_entry=False)
            elif name == "image" and entry_name == "item":
                self.image(child)
            elif name in ("guid", "id"):
                # _end_guid: a permalink id becomes the feed's link when none came before.
                guidislink, value = self.guid(child)
                if guidislink:
                    self.feed.setdefault("link", value)
            elif name in _RISKY_IN_FEED:
                raise _Unclean(f"<{name}> at the feed level")
            else:
                self.skip(child, _RISKY_IN_FEED, "the feed")
        self.end()

    def feed_title(self, el: Any) -> None:
        self.start(el)
        value, detail = self.text_construct(el, "text/plain")
        if not (-1 < self.title_depth <= self.depth):
            self.feed["title"] = value
            self.feed["title_detail"] = {**detail, "value": value}
            if value:
                self.title_depth = self.depth
        self.end()

    def image(self, el: Any) -> None:
        self.start(el)
        self.title_depth = -1
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = self.method(child)
            if name not in _IMAGE_CHILDREN or len(child):
                raise _Unclean(f"<{name}> inside <image>")
            self.start(child)
            if name == "title" and self.finish(_text_of(child)):
                self.title_depth = self.depth
            self.end()
        self.end()

    def link(self, el: Any, context: dict[str, Any], *, in_entry: bool) -> None:
        """feedparser's _start_link / _end_link."""
        self.start(el)
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        rel = attrs.get("rel", "alternate").lower()
        default_type = "application/atom+xml" if rel == "self" else "text/html"
        kind = attrs.get("type", default_type).lower()
        # _enforce_href: url, else uri, else href; a present but empty one still counts.
        enforced = attrs.get("url", attrs.get("uri", attrs.get("href")))
        href = enforced if enforced else attrs.get("href")
        if href is not None:
            href = self.fp.urljoin(self.baseuri, href)
            kind = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
                kind, kind
            )
            if rel == "alternate" and kind in _HTML_TYPES:
                context["link"] = href
        else:
            output = self.finish(_text_of(el), resolve=True)
            if in_entry:
                output = output.replace("&amp;", "&")
            context["link"] = _AMP_NAME.sub(r"&\g<1>", output)
        self.end()

    # -- an entry

    def entry(self, item: Any) -> None:
        if item.attrib and set(item.attrib) - {_XML_BASE, _XML_LANG}:
            raise _Unclean(f"attributes on <{_local(item)}>")
        entry: dict[str, Any] = {}
        self.entries.append(entry)
        self.start(item)
        self.title_depth = -1
        guidislink = False
        summaries = 0
        authors = 0
        tags: list[dict[str, str | None]] = []
        for child in item:
            if not isinstance(child.tag, str):
                continue
            name = self.method(child)
            if name == "title":
                self.start(child)
                value, detail = self.text_construct(child, "text/plain")
                if not (-1 < self.title_depth <= self.depth):
                    entry["title"] = value
                    entry["title_detail"] = {**detail, "value": value}
                    if value:
                        self.title_depth = self.depth
                self.end()
            elif name == "link":
                self.link(child, entry, in_entry=True)
            elif name in ("guid", "id"):
                guidislink, value = self.guid(child)
                entry["id"] = value
                if guidislink:
                    entry.setdefault("link", value)
            elif name in ("description", "summary"):
                summaries += 1
                if summaries > 1:
                    raise _Unclean("two summaries in one entry")
                self.start(child)
                default = "text/html" if name == "description" else "text/plain"
                value, detail = self.text_construct(child, default)
                entry["summary"] = value
                entry["summary_detail"] = {**detail, "value": value}
                self.end()
            elif name in ("content", "content_encoded"):
                self.start(child)
                if child.get("src") is not None:
                    raise _Unclean("<content src=...>")
                default = "text/plain" if name == "content" else "text/html"
                value, detail = self.text_construct(child, default)
                entry.setdefault("content", []).append({**detail, "value": value})
                entry.setdefault("summary", value)
                self.end()
            elif name in ("pubdate", "published", "issued"):
                self.date(child, entry, "published")
            elif name in ("updated", "modified", "dc_date"):
                self.date(child, entry, "updated")
            elif name in ("author", "dc_creator", "dc_author"):
                authors += 1
                if authors > 1:
                    raise _Unclean("several authors in one entry")
                self.author(child, entry)
            elif name in ("category", "dc_subject"):
                self.category(child, tags)
            elif name in _HARMLESS_IN_ENTRY:
                if len(child):
                    raise _Unclean(f"<{name}> with children in an entry")
                self.skip(child, frozenset(), "an entry")
            elif name in self.fp.handlers:
                raise _Unclean(f"<{name}> in an entry")
            elif name in _READ_KEYS or len(child):
                raise _Unclean(f"an unknown <{name}> in an entry")
            else:
                self.skip(child, frozenset(), "an entry")
        if tags:
            entry["tags"] = tags
        self.end()

    def guid(self, el: Any) -> tuple[bool, str]:
        """(whether feedparser takes it for a permalink, its value)."""
        self.start(el)
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        guidislink = attrs.get("ispermalink", "true") == "true"
        value = self.finish(_text_of(el), resolve=guidislink)
        self.end()
        return guidislink, value

    def date(self, el: Any, entry: dict[str, Any], key: str) -> None:
        self.start(el)
        value = self.finish(_text_of(el))
        entry[key] = value
        entry[key + "_parsed"] = self.fp.parse_date(value)
        self.end()

    def author(self, el: Any, entry: dict[str, Any]) -> None:
        self.start(el)
        children = [c for c in el if isinstance(c.tag, str)]
        if not children:
            author = self.finish(_text_of(el))
            entry["author"] = author
            if author:
                name, email = author, None
                match = _EMAIL.search(author)
                if match:
                    email = match.group(0)
                    name = name.replace(email, "").replace("()", "").replace("<>", "")
                    name = name.replace("&lt;&gt;", "").strip()
                    if name and name[0] == "(":
                        name = name[1:]
                    if name and name[-1] == ")":
                        name = name[:-1]
                    name = name.strip()
                detail: dict[str, str] = {}
                if name:
                    detail["name"] = name
                if email:
                    detail["email"] = email
                if detail:
                    entry["author_detail"] = detail
        else:
            kinds = [self.method(c) for c in children]
            if any(k not in ("name", "email", "uri") or kinds.count(k) > 1 for k in kinds) or any(
                len(c) for c in children
            ):
                raise _Unclean("an author other than one name, e-mail and URI")
            found: dict[str, str] = {}
            for kind, child in zip(kinds, children, strict=True):
                self.start(child)
                if kind in ("name", "email"):
                    # expecting_text=0 in feedparser: stripped, not repaired.
                    found[kind] = _text_of(child).strip()
                self.end()
            # _save_author and _sync_author_detail, once the author element has closed.
            given, email = found.get("name"), found.get("email")
            entry["author_detail"] = found
            if given and email:
                entry["author"] = f"{given} ({email})"
            elif given or email:
                entry["author"] = given or email
            else:
                entry["author"] = ""
        self.end()

    def category(self, el: Any, tags: list[dict[str, str | None]]) -> None:
        self.start(el)
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        term, label = attrs.get("term"), attrs.get("label")
        scheme = attrs.get("scheme", attrs.get("domain"))
        if term or scheme or label:
            tag = {"term": term, "scheme": scheme, "label": label}
            if tag not in tags:
                tags.append(tag)
        value = self.finish(_text_of(el))
        if value:
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value
            else:
                tag = {"term": value, "scheme": None, "label": None}
                if tag not in tags:
                    tags.append(tag)
        self.end()


def parse_clean(data: bytes, charset: str | None) -> FastResult:
    """Read ``data`` (already prepared by ``prepare_xml``) on the fast path if it is clean.

    ``charset`` is the one feedparser would be told (None: the document's declaration).
    Returns feedparser's result shape, or None with the reason the document is not clean.
    Never raises: whatever goes wrong is a reason to let feedparser read the document.
    """
    from lxml import etree

    try:
        _check_document(data, charset)
        parser = etree.XMLParser(
            encoding="utf-8", resolve_entities=False, no_network=True, huge_tree=False
        )
        root = etree.fromstring(data, parser)
        if data.count(b"xmlns") != len(root.nsmap):
            raise _Unclean("namespaces declared below the root element")
        walk = _Walk(root, _fp())
        # Following xml:base costs a step per element: only where an attribute may set one.
        walk.track_base = _BASE_ATTRIBUTE.search(data) is not None
        return FastResult(walk.run(root))
    except _Unclean as unclean:
        return FastResult(None, str(unclean))
    except (Exception, RecursionError) as error:  # hostile input: feedparser decides
        return FastResult(None, f"the fast parser failed: {type(error).__name__}: {error}"[:300])
