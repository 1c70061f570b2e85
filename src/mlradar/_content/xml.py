"""Safe XML parsing for the XML mlradar reads with lxml (arXiv's Atom, RSS and OAI-PMH; OPML).

No DTDs, no entity expansion, no network: a hostile or broken response can neither read
local files nor expand into gigabytes.  Malformed XML is a :class:`ParseError` naming the
URL, never an lxml exception.
"""

from __future__ import annotations

from lxml import etree

from mlradar.exceptions import ParseError


def safe_parser(*, recover: bool = False) -> etree.XMLParser:
    """An lxml parser that loads no DTD, expands no entity and touches no network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


_PARSER = safe_parser()


def parse_xml(content: bytes, url: str) -> etree._Element:
    """The root element of ``content``; ParseError when it is not well-formed XML."""
    if not content.strip():
        raise ParseError(url, "empty response where XML was expected")
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(url, f"not well-formed XML: {exc}") from None
    if root is None:
        raise ParseError(url, "no XML document")
    return root


def text_of(element: etree._Element | None) -> str | None:
    """All the text inside ``element`` (None when absent or empty after trimming)."""
    if element is None:
        return None
    text = "".join(t for t in element.itertext() if isinstance(t, str)).strip()
    return text or None


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
