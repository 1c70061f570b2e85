"""OPML subscription lists: parse, flatten into feeds and folders, and write back.

Parsing uses lxml with entity resolution, DTD loading and network access off, and refuses a
document that declares a DTD at all: OPML never needs one, and a DTD is how entity bombs
and external-entity reads get in.

Round trip.  mlradar keeps what it needs to write an imported file back as it was: each
feed outline's attributes in their order (``text``, ``title``, ``type``, ``xmlUrl``,
``htmlUrl``, ``description``, anything else), each folder outline's attributes, the
position of every outline in the document, and the ``<head>`` elements.  A folder becomes a
tag on its feeds; nested folders become one tag, their names joined by ``/``
(``Blogs/Research``; a ``/`` inside a folder's own name is written ``∕``).  Export builds
the folders back from the tags, so a tag added later becomes a folder too, and a source
with several tags appears in each of their folders.  "Exact" means the same tree of
outlines with the same attributes in the same order and the same head; whitespace,
comments and quoting style are not kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from mlradar._content.xml import safe_parser
from mlradar.exceptions import ParseError

#: A larger OPML file is refused: the biggest real subscription lists are well under 1 MB.
MAX_OPML_BYTES = 16 * 1024 * 1024
FOLDER_SEPARATOR = "/"
# A slash inside one folder's name, kept apart from the separator between folders.
_SLASH_IN_NAME = "∕"

Attrs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    attrs: Attrs
    children: tuple[OpmlOutline, ...] = ()

    def get(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.attrs:
            if key.lower() == lower:
                return value
        return None

    @property
    def is_feed(self) -> bool:
        return bool((self.get("xmlUrl") or "").strip())


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    version: str = "2.0"
    head: tuple[tuple[str, str], ...] = ()
    outlines: tuple[OpmlOutline, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline, with the folder (tag) it sits in and its document position."""

    url: str
    attrs: Attrs
    folder: str | None
    position: int


@dataclass(frozen=True, slots=True)
class OpmlFolder:
    path: str
    attrs: Attrs
    position: int


@dataclass(frozen=True, slots=True)
class FlatOpml:
    feeds: tuple[OpmlFeed, ...]
    folders: tuple[OpmlFolder, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportFeed:
    """A source as export sees it: the folders it goes in and its outline in each.

    ``outlines`` holds what an import recorded per folder (attributes, position);
    ``attrs`` is used in folders nothing was recorded for.
    """

    folders: tuple[str | None, ...]
    attrs: Attrs
    outlines: Mapping[str | None, tuple[Attrs, int]] = field(default_factory=dict)
    order: int = 0


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _outline(element: etree._Element) -> OpmlOutline:
    attrs = tuple((str(k), str(v)) for k, v in element.attrib.items())
    children = tuple(_outline(c) for c in element if _local(c.tag) == "outline")
    return OpmlOutline(attrs=attrs, children=children)


_STRAY_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def _repaired(data: bytes) -> etree._Element | None:
    """Many exported lists have a stray "&" in a title ("R & D"): escape it, and failing
    that let lxml recover what it can."""
    if not data.strip():
        return None
    try:
        return etree.fromstring(_STRAY_AMPERSAND.sub(b"&amp;", data), safe_parser(recover=False))
    except etree.XMLSyntaxError:
        return etree.fromstring(data, safe_parser(recover=True))


def parse_opml(data: bytes, origin: str = "OPML") -> OpmlDocument:
    """An OPML document; :class:`ParseError` for anything that is not usable OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise ParseError(origin, f"{len(data)} bytes is too large for an OPML file")
    try:
        root = etree.fromstring(data, safe_parser(recover=False))
    except etree.XMLSyntaxError as exc:
        root = _repaired(data)
        if root is None:
            raise ParseError(origin, f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise ParseError(origin, "OPML with a DTD is refused (entities could be unsafe)")
    if _local(root.tag) != "opml":
        raise ParseError(origin, f"not OPML: the root element is <{_local(root.tag)}>")
    body = next((c for c in root if _local(c.tag) == "body"), None)
    if body is None:
        raise ParseError(origin, "not OPML: there is no <body>")
    head_el = next((c for c in root if _local(c.tag) == "head"), None)
    head = tuple(
        (_local(c.tag), (c.text or "").strip())
        for c in (head_el if head_el is not None else ())
        if _local(c.tag)
    )
    outlines = tuple(_outline(c) for c in body if _local(c.tag) == "outline")
    return OpmlDocument(version=root.get("version") or "2.0", head=head, outlines=outlines)


def write_opml(doc: OpmlDocument) -> bytes:
    """The document as indented UTF-8 XML."""
    root = etree.Element("opml", version=doc.version)
    head = etree.SubElement(root, "head")
    for name, text in doc.head:
        etree.SubElement(head, name).text = text
    body = etree.SubElement(root, "body")

    def add(parent: etree._Element, outline: OpmlOutline) -> None:
        element = etree.SubElement(parent, "outline")
        for key, value in outline.attrs:
            element.set(key, value)
        for child in outline.children:
            add(element, child)

    for outline in doc.outlines:
        add(body, outline)
    etree.indent(root, space="  ")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def folder_name(outline: OpmlOutline) -> str:
    name = (outline.get("text") or outline.get("title") or "").strip() or "untitled"
    return name.replace(FOLDER_SEPARATOR, _SLASH_IN_NAME)


def flatten(doc: OpmlDocument) -> FlatOpml:
    """The feeds and folders of a document, in document order, with what was skipped."""
    feeds: list[OpmlFeed] = []
    folders: list[OpmlFolder] = []
    skipped: list[str] = []
    counter = 0

    def walk(outlines: Sequence[OpmlOutline], path: str | None) -> None:
        nonlocal counter
        for outline in outlines:
            counter += 1
            if outline.is_feed:
                url = (outline.get("xmlUrl") or "").strip()
                feeds.append(OpmlFeed(url, outline.attrs, path, counter))
                # A feed outline with children is unusual; its children stay in its folder.
                walk(outline.children, path)
            elif outline.children:
                name = folder_name(outline)
                sub = f"{path}{FOLDER_SEPARATOR}{name}" if path else name
                if all(f.path != sub for f in folders):
                    folders.append(OpmlFolder(sub, outline.attrs, counter))
                walk(outline.children, sub)
            else:
                label = outline.get("text") or outline.get("title") or "(untitled)"
                skipped.append(f"outline {label!r}: no xmlUrl and no children")

    walk(doc.outlines, None)
    return FlatOpml(tuple(feeds), tuple(folders), tuple(skipped))


def _segments(path: str) -> list[str]:
    return [s for s in path.split(FOLDER_SEPARATOR) if s]


def build_document(
    feeds: Sequence[ExportFeed],
    folders: Mapping[str, tuple[Attrs, int]],
    *,
    head: tuple[tuple[str, str], ...] = (),
    version: str = "1.0",
) -> OpmlDocument:
    """The OPML tree for ``feeds``: folders from their tags, in stored document order.

    ``folders`` maps a folder path to the attributes and position it had when imported;
    folders without one are written as ``text``/``title`` outlines after the known ones.
    """

    @dataclass
    class Node:
        path: str
        attrs: Attrs
        position: float
        children: list[tuple[float, int, object]] = field(default_factory=list)

    unknown = float(10**12)
    root = Node("", (), 0)
    nodes: dict[str, Node] = {}

    def node_for(path: str | None) -> Node:
        if not path:
            return root
        if path in nodes:
            return nodes[path]
        parts = _segments(path)
        parent = node_for(FOLDER_SEPARATOR.join(parts[:-1]) or None)
        stored = folders.get(path)
        name = parts[-1].replace(_SLASH_IN_NAME, FOLDER_SEPARATOR)
        attrs = stored[0] if stored else (("text", name), ("title", name))
        position = stored[1] if stored else unknown
        node = Node(path, attrs, position)
        nodes[path] = node
        parent.children.append((position, len(parent.children), node))
        return node

    # Known folders first in their order, so intermediate folders exist before their feeds.
    for path in sorted(folders, key=lambda p: folders[p][1]):
        if any(path in f.folders or _under(f.folders, path) for f in feeds):
            node_for(path)
    for feed in sorted(feeds, key=lambda f: f.order):
        for folder in feed.folders:
            parent = node_for(folder)
            attrs, position = feed.outlines.get(folder, (feed.attrs, unknown + feed.order))
            parent.children.append((position, len(parent.children), OpmlOutline(attrs)))

    def materialize(node: Node) -> tuple[OpmlOutline, ...]:
        out: list[OpmlOutline] = []
        for _, _, child in sorted(node.children, key=lambda c: (c[0], c[1])):
            if isinstance(child, Node):
                out.append(OpmlOutline(child.attrs, materialize(child)))
            else:
                assert isinstance(child, OpmlOutline)
                out.append(child)
        return tuple(out)

    return OpmlDocument(version=version, head=head, outlines=materialize(root))


def _under(paths: Sequence[str | None], folder: str) -> bool:
    prefix = folder + FOLDER_SEPARATOR
    return any(p is not None and p.startswith(prefix) for p in paths)
