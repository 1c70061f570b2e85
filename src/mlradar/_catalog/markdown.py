"""Reading a curated Markdown list (an awesome-list, a blog post of links) into resources.

The list is parsed with markdown-it-py (CommonMark plus tables, with bare URLs linkified).
Each block (a heading, a paragraph or list item, a table row) is read as plain text with
the positions of its links, and these rules make resources of it:

* A heading that is a link (``## [Lil'Log](https://...)``) is a resource; the first
  paragraph under it is its description.
* In a paragraph or list item, the first link is the block's main resource: the link text
  is its name and the text after the link its description.  Further links are resources
  too, except reference links beside the main one (``[pdf]``, ``([Code](...))``,
  ``([HN](...))``, "Website", "Permalink"), which point at the same resource.
* A link labelled RSS, Atom or feed is not a resource: it is the feed of the block's main
  resource.
* In a table row only the first link counts; the other cells become its description,
  prefixed with their column headers.
* A link whose text says nothing ("blog", "old", "[pdf]", a bare URL) is named from its
  context: the bold title before it, else the words before it, else its heading.
* Links that cite rather than recommend are skipped: tweets, t.co short links, Reddit
  comment permalinks, badges (links around an image), anchors and relative links.

The heading path above a resource becomes its topics (:mod:`.topics`); its kind is
detected from the URL and that context (:mod:`.kinds`).  The same resource named twice in
one list is kept once (by :func:`~.urls.match_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from mlradar._catalog.kinds import detect_kind
from mlradar._catalog.model import ListedResource, ParsedList
from mlradar._catalog.topics import merge_topics, topics_from
from mlradar._catalog.urls import absolute_link, match_key
from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogKind, Level

#: Larger Markdown is refused: the biggest real awesome-lists are a few hundred kB.
MAX_MARKDOWN_BYTES = 8 * 1024 * 1024
_MAX_DESCRIPTION = 300

_FEED_LABELS = frozenset({"rss", "atom", "feed", "rss feed", "atom feed"})
# Words that name nothing on their own: the resource's name comes from the context.
_GENERIC = frozenset(
    {
        "blog", "blogs", "old", "new", "here", "this", "that", "link", "pdf", "html", "web",
        "website", "site", "paper", "code", "github", "slides", "video", "videos", "archive",
        "homepage", "home page", "source", "repo", "repository", "notes", "post", "article",
        "read", "more", "read more", "online", "free", "download", "book", "course", "url",
        "youtube", "youtube channel", "channel", "his blog", "her blog", "has a blog",
        "lecture", "lectures", "talk",
    }
)  # fmt: skip
# Links beside a block's main link that point at the same resource in another form.
_ADJUNCT = frozenset(
    {
        "paper", "pdf", "code", "github", "hn", "website", "site", "web", "archive", "slides",
        "video", "demo", "html", "source", "repo", "repository", "homepage", "project page",
        "project", "arxiv", "discussion", "bibtex", "abstract", "poster", "data", "dataset",
        "doi", "reddit", "twitter", "tweet", "blog post", "notebook", "colab", "docs",
    }
)  # fmt: skip
_MAX_NAME_WORDS = 6
_PART = re.compile(r"^part \d+$")
_SEPARATORS = " \t-–—:;,.|*"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.M)
_LEVEL_WORDS: tuple[tuple[re.Pattern[str], Level], ...] = (
    (re.compile(r"\bbeginners?\b", re.I), "beginner"),
    (re.compile(r"\bintermediate\b", re.I), "intermediate"),
    (re.compile(r"\badvanced\b", re.I), "advanced"),
)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"linkify": True, "html": True})
    md.enable(["table", "strikethrough", "linkify"])
    # Only URLs with a scheme: "fast.ai" in running text is not a link.
    assert md.linkify is not None
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    return md


@dataclass(slots=True)
class _Link:
    url: str | None
    label: str
    start: int
    end: int
    image_only: bool
    autolink: bool


@dataclass(slots=True)
class _Block:
    text: str
    links: list[_Link] = field(default_factory=list)
    strong: list[tuple[int, int]] = field(default_factory=list)
    feed_url: str | None = None


def _norm_label(label: str) -> str:
    return label.strip().strip("[]()<>\"'“”*_ ").strip().lower()


def _is_feed_label(label: str) -> bool:
    return _norm_label(label) in _FEED_LABELS


def _is_generic(label: str) -> bool:
    norm = _norm_label(label)
    return not norm or norm in _GENERIC or bool(_PART.match(norm))


def _is_adjunct(label: str) -> bool:
    norm = _norm_label(label)
    return norm in _ADJUNCT or norm.startswith("permalink")


def cites_rather_than_recommends(url: str) -> bool:
    """Links a list uses as a citation, not as a resource: tweets, short links, comments."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("mobile.")
    segments = [s for s in parts.path.split("/") if s]
    if host == "t.co":
        return True
    if host in ("twitter.com", "x.com") and "status" in segments:
        return True
    # /r/<sub>/comments/<id>/<slug>/<comment id>: one comment, quoted as evidence.
    return (
        host.endswith("reddit.com")
        and len(segments) >= 6
        and segments[0] == "r"
        and segments[2] == "comments"
    )


def _read_inline(token: Token) -> _Block:
    """An inline token as plain text, with the spans of its links and bold runs."""
    out: list[str] = []
    block = _Block(text="")
    size = 0
    link_start: int | None = None
    link_href = ""
    link_auto = False
    link_has_text = False
    strong_start: int | None = None
    for child in token.children or ():
        kind = child.type
        if kind in ("text", "code_inline"):
            out.append(child.content)
            size += len(child.content)
            if link_start is not None and child.content.strip():
                link_has_text = True
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ")
            size += 1
        elif kind == "link_open":
            link_start = size
            link_href = str(child.attrs.get("href") or "")
            link_auto = child.markup in ("linkify", "autolink")
            link_has_text = False
        elif kind == "link_close" and link_start is not None:
            label = "".join(out)[link_start:size]
            url = absolute_link(link_href) if link_href else None
            if url is not None and _is_feed_label(label):
                # The feed of the block's resource: not a resource, and not description text.
                block.feed_url = block.feed_url or url
                joined = "".join(out)[:link_start]
                out = [joined]
                size = len(joined)
            else:
                block.links.append(
                    _Link(url, label, link_start, size, not link_has_text, link_auto)
                )
            link_start = None
        elif kind == "strong_open":
            strong_start = size
        elif kind == "strong_close" and strong_start is not None:
            block.strong.append((strong_start, size))
            strong_start = None
    block.text = "".join(out)
    return block


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _trim_separators(text: str) -> str:
    text = _clean(text)
    # Empty brackets left where reference links were cut out: "([Code](...))" -> "()".
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    return _clean(text).strip(_SEPARATORS).strip()


def _shorten(text: str | None) -> str | None:
    """At most two sentences and ``_MAX_DESCRIPTION`` characters."""
    if not text:
        return None
    text = _clean(text)
    sentences = _SENTENCE_END.split(text)
    text = " ".join(sentences[:2])
    if len(text) > _MAX_DESCRIPTION:
        cut = text[: _MAX_DESCRIPTION - 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
    return text or None


def _sentence_around(text: str, start: int, end: int) -> str | None:
    left = max(text.rfind(". ", 0, start), text.rfind("! ", 0, start), text.rfind("? ", 0, start))
    right_candidates = [i for i in (text.find(". ", end), text.find("! ", end)) if i >= 0]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    return _shorten(text[left + 1 if left >= 0 else 0 : right])


def _strong_before(block: _Block, link: _Link) -> tuple[int, int] | None:
    for s, e in block.strong:
        if e <= link.start and _clean(block.text[s:e]):
            return s, e
    return None


def _name_for(block: _Block, index: int, links: list[_Link], headings: tuple[str, ...]) -> str:
    link = links[index]
    label = _clean(link.label)
    if label and not link.autolink and not _is_generic(label):
        return label
    strong = _strong_before(block, link)
    if strong is not None:
        return _trim_separators(block.text[strong[0] : strong[1]])
    previous_end = links[index - 1].end if index > 0 else 0
    raw = block.text[previous_end : link.start]
    if not raw.strip(_SEPARATORS) and index > 0:
        raw = block.text[: links[0].start]
    # Only the words just before the link ("Chris Olah's [blog]"), not a whole sentence.
    raw = _SENTENCE_END.split(raw)[-1]
    before = _trim_separators(raw)
    suffix = "" if link.autolink or not label else label.strip("[]() ")
    if before and len(before.split()) <= _MAX_NAME_WORDS:
        if not suffix:
            return before
        joined = raw.rstrip() and raw.rstrip()[-1] not in _SEPARATORS and index == 0
        return f"{before} {suffix}" if joined else f"{before} ({suffix})"
    if link.autolink:
        # A bare URL alone on its line: the address is the best name there is.
        return _address(link.url or label)
    if headings:
        return f"{headings[-1]} – {suffix}" if suffix else headings[-1]
    return _address(link.url or "") or label or "untitled"


def _address(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return host + parts.path.rstrip("/")


def _description_for(block: _Block, index: int, links: list[_Link], name: str) -> str | None:
    link = links[index]
    if index > 0:
        return _sentence_around(block.text, link.start, link.end)
    # Reference links beside the main one ("([Code](...))") are not description.
    masked = block.text
    for other in links[1:]:
        if _is_adjunct(other.label):
            masked = masked[: other.start] + " " * (other.end - other.start) + masked[other.end :]
    after = masked[link.end :]
    if after.strip(_SEPARATORS + "()[] "):
        return _shorten(_trim_separators(after))
    strong = _strong_before(block, link)
    if strong is None:
        return None
    # "**Title** (2015), A. Author [[pdf]](...)": what is not the title describes it.
    rest = masked[: strong[0]] + masked[strong[1] : link.start]
    return _shorten(_trim_separators(rest))


def _level_of(headings: tuple[str, ...], default: Level | None) -> Level | None:
    for heading in reversed(headings):
        for pattern, level in _LEVEL_WORDS:
            if pattern.search(heading):
                return level
    return default


class _Collector:
    """Accumulates resources in document order, one per match key."""

    def __init__(self, default_level: Level | None, default_kind: CatalogKind | None) -> None:
        self.default_level = default_level
        self.default_kind = default_kind
        self.by_key: dict[str, int] = {}
        self.resources: list[ListedResource] = []
        # Resources described only by a sentence that mentions them in passing: a later
        # entry of their own describes them better.
        self.weak: set[int] = set()

    def add(
        self,
        url: str,
        name: str,
        headings: tuple[str, ...],
        description: str | None,
        feed_url: str | None = None,
        *,
        passing: bool = False,
    ) -> int:
        key = match_key(url)
        topics = topics_from(headings)
        if key in self.by_key:
            i = self.by_key[key]
            old = self.resources[i]
            better = description if i in self.weak and not passing and description else None
            if better:
                self.weak.discard(i)
            self.resources[i] = replace(
                old,
                description=better or old.description or description,
                feed_url=old.feed_url or feed_url,
                topics=merge_topics(old.topics, topics),
            )
            return i
        if passing:
            self.weak.add(len(self.resources))
        resource = ListedResource(
            url=url,
            name=name[:300],
            kind=detect_kind(
                url,
                name=name,
                context=headings,
                has_feed=feed_url is not None,
                default=self.default_kind,
            ),
            heading_path=headings,
            topics=topics,
            description=description,
            feed_url=feed_url,
            level=_level_of(headings, self.default_level),
        )
        self.by_key[key] = len(self.resources)
        self.resources.append(resource)
        return len(self.resources) - 1

    def describe(self, index: int, description: str | None) -> None:
        old = self.resources[index]
        if description and not old.description:
            self.resources[index] = replace(old, description=description)


def _resource_links(block: _Block) -> list[_Link]:
    return [
        link
        for link in block.links
        if link.url is not None
        and not link.image_only
        and not cites_rather_than_recommends(link.url)
    ]


def _front_matter(text: str) -> tuple[str, str | None]:
    """The text without its YAML front matter, and the front matter's title."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, None
    title = _FRONT_TITLE.search(m.group(1))
    value = title.group(1).strip().strip("\"'") if title else None
    return text[m.end() :], value


def decode_markdown(data: bytes, origin: str) -> str:
    """Markdown bytes as text; refuses what is too large or plainly not text."""
    if len(data) > MAX_MARKDOWN_BYTES:
        raise InvalidInputError(
            f"{origin}: {len(data)} bytes is too large for a reading list "
            f"(limit {MAX_MARKDOWN_BYTES // (1024 * 1024)} MiB)"
        )
    if b"\x00" in data[:8192]:
        raise InvalidInputError(f"{origin}: not a text file")
    return data.decode("utf-8-sig", errors="replace")


def parse_markdown_list(
    text: str, *, level: Level | None = None, kind: CatalogKind | None = None
) -> ParsedList:
    """The resources a Markdown reading list names, in document order (see module doc).

    ``level`` is who the whole list is for, when the list says so outside its headings;
    ``kind`` what its links are when neither their URL nor their words tell (a list of
    books whose links are bare PDFs).
    """
    body, title = _front_matter(text)
    tokens = _parser().parse(body)
    found = _Collector(level, kind)
    headings: list[tuple[int, str]] = []
    awaiting_description: int | None = None
    table_headers: list[str] = []
    row: list[_Block] = []
    in_head = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            depth = int(tok.tag[1:])
            block = _read_inline(tokens[i + 1])
            heading_text = _clean(block.text)
            while headings and headings[-1][0] >= depth:
                headings.pop()
            parents = tuple(h for _, h in headings)
            if title is None and depth == 1 and heading_text:
                title = heading_text
            headings.append((depth, heading_text))
            links = _resource_links(block)
            awaiting_description = None
            if links:
                name = _name_for(block, 0, links, parents)
                assert links[0].url is not None
                awaiting_description = found.add(links[0].url, name, parents, None, block.feed_url)
        elif tok.type == "thead_open":
            in_head, table_headers = True, []
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and i > 0 and tokens[i - 1].type in ("th_open", "td_open"):
            block = _read_inline(tok)
            if in_head:
                table_headers.append(_clean(block.text))
            else:
                row.append(block)
        elif tok.type == "tr_close" and not in_head and row:
            _add_row(found, row, table_headers, tuple(h for _, h in headings))
        elif tok.type == "inline" and i > 0 and tokens[i - 1].type == "paragraph_open":
            block = _read_inline(tok)
            path = tuple(h for _, h in headings)
            if awaiting_description is not None:
                found.describe(awaiting_description, _shorten(_trim_separators(block.text)))
                awaiting_description = None
            _add_block(found, block, path)
    return ParsedList(title=title, resources=tuple(found.resources))


def _add_block(found: _Collector, block: _Block, path: tuple[str, ...]) -> None:
    links = _resource_links(block)
    for index, link in enumerate(links):
        if index > 0 and _is_adjunct(link.label):
            continue
        assert link.url is not None
        name = _name_for(block, index, links, path)
        description = _description_for(block, index, links, name)
        feed = block.feed_url if index == 0 else None
        found.add(link.url, name, path, description, feed, passing=index > 0)


def _add_row(
    found: _Collector, row: list[_Block], headers: list[str], path: tuple[str, ...]
) -> None:
    for cell_index, cell in enumerate(row):
        links = _resource_links(cell)
        if not links:
            continue
        name = _name_for(cell, 0, links, path)
        details = []
        for j, other in enumerate(row):
            value = _clean(other.text)
            if j == cell_index or not value:
                continue
            header = headers[j] if j < len(headers) and headers[j] else ""
            details.append(f"{header}: {value}" if header else value)
        assert links[0].url is not None
        found.add(links[0].url, name, path, _shorten("; ".join(details)), cell.feed_url)
        return


def raw_markdown_url(url: str) -> str:
    """Where the Markdown behind a GitHub page is: a blob's raw file, a repo's README.

    Other URLs are returned unchanged.
    """
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in ("github.com", "www.github.com"):
        return url
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 5 and segments[2] == "blob":
        owner, repo, _, ref, *path = segments
        return f"https://raw.githubusercontent.com/{owner}/{repo}/{ref}/{'/'.join(path)}"
    if len(segments) == 2 or (len(segments) >= 4 and segments[2] == "tree"):
        owner, repo = segments[0], segments[1]
        ref = segments[3] if len(segments) >= 4 else "HEAD"
        folder = "".join(f"{s}/" for s in segments[4:])
        return f"https://raw.githubusercontent.com/{owner}/{repo}/{ref}/{folder}README.md"
    return url
