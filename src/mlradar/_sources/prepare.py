"""Byte-level preparation of an XML feed before feedparser reads it.

Three jobs, all on bytes and all linear-time:

* **charset**: follow RFC 7303 (Content-Type charset, else BOM or XML declaration, else
  UTF-8), except that a document declared in a legacy single-byte charset whose bytes are
  valid UTF-8 (and not plain ASCII) is read as UTF-8, as feed readers do: a legacy text
  that happens to be valid UTF-8 is all but impossible, while servers and generators that
  mislabel UTF-8 are common.  UTF-16/32 documents are transcoded to UTF-8 first so that the
  byte-level steps below see ASCII-compatible bytes.
* **defusing the DTD**: every entity declaration is removed; the references to short
  literal ones (and single character references) are expanded here, within a byte budget,
  so no external entity (``file:///etc/passwd``), parameter entity or expansion bomb
  (billion laughs, quadratic blowup) reaches a parser.
* **repairing the commonest breakage** outside CDATA sections and comments: a ``<`` that
  starts no markup becomes ``&lt;``, an ``&`` that starts no reference becomes ``&amp;``,
  HTML named entities (``&nbsp;``, undefined in XML) become numeric references, and C0
  control characters (forbidden in XML) are deleted.  None of these changes a well-formed
  document.  Broken documents that would otherwise fall to
  feedparser's slow "loose" parser (about 3 µs a byte, and much slower on hostile input
  such as megabytes of ``<``) then parse with expat instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.entities import html5

from mlradar._sources.discovery import wide_encoding

#: Longest entity replacement text kept in a DTD (``&nbsp;``-style aliases fit easily).
MAX_ENTITY_CHARS = 16
#: Bytes that expanding DTD entities may add to a document; references past it expand to
#: nothing.
MAX_ENTITY_EXPANSION = 1_000_000

# Encodings in which any byte sequence decodes, so a UTF-8 document mislabelled with one of
# them would silently turn into mojibake.
_SINGLE_BYTE = re.compile(
    r"(?:iso[-_]?8859[-_]?\d+|latin[-_]?\d|l\d|windows-125\d|cp125\d|cp850|cp437"
    r"|koi8[-_]?[ru]|us-ascii|ascii|mac-?roman|macintosh)$",
    re.IGNORECASE,
)
# Encodings whose multi-byte characters may contain the bytes "<" and "&": no byte-level
# repair is safe in them.
_NOT_ASCII_SAFE = ("iso-2022", "iso2022", "utf-7", "utf7", "hz-gb")
_XML_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z]")
_ENTITY_DECL = re.compile(rb"<!ENTITY\b[^>]*>", re.IGNORECASE)
_SAFE_ENTITY_DECL = re.compile(
    rb'<!ENTITY\s+(\w+)\s+"(&#\w+;|[^&%"<>]{0,' + str(MAX_ENTITY_CHARS).encode() + rb'})"\s*>'
)
_VERBATIM = re.compile(rb"(<!\[CDATA\[.*?\]\]>|<!--.*?-->)", re.DOTALL)
# Bytes from 0x80 up are (parts of) non-ASCII name characters, allowed in XML names.
_STRAY_LT = re.compile(rb"<(?![A-Za-z_:/!?\x80-\xff])")
_STRAY_AMP = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_:\x80-\xff][\w.:\x80-\xff-]*;)")
# The five XML entities are skipped in the pattern itself: escaped HTML is full of them.
_NAMED_REF = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]*);")
# C0 control characters are not allowed anywhere in XML 1.0 (tab, LF and CR are); they never
# occur inside a multi-byte UTF-8 (or Shift_JIS, GBK, Big5) character, so deleting the bytes
# is safe.
_C0_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_HTML_ENTITIES: dict[bytes, bytes] = {
    name[:-1].encode("ascii"): "".join(f"&#{ord(ch)};" for ch in text).encode("ascii")
    for name, text in html5.items()
    if name.endswith(";") and name[:-1].encode("ascii") not in _XML_ENTITIES
}


@dataclass(frozen=True, slots=True)
class PreparedXML:
    data: bytes
    #: The charset feedparser must use (None: let it read the XML declaration).
    charset: str | None
    #: What was overridden, for ParsedFeed.warning.
    warning: str | None


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, lowercased."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def _transcode_wide(content: bytes, codec: str) -> bytes:
    text = content.decode(codec, "replace").lstrip("\ufeff")
    text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[\w.:-]+", r"\1utf-8", text, count=1)
    return text.encode("utf-8")


def _take_entities(data: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """(data without any entity declaration, the safe ones' replacement texts by name).

    A declaration is safe when its replacement text is a literal of at most
    :data:`MAX_ENTITY_CHARS` characters or one character reference; the others (external,
    parameter, long or nested ones) are dropped, and their references stay undefined.
    """
    start = _FIRST_ELEMENT.search(data)
    end = start.start() if start else len(data)
    head = data[:end]
    if b"<!ENTITY" not in head.upper():
        return data, {}
    entities: dict[bytes, bytes] = {}

    def take(m: re.Match[bytes]) -> bytes:
        safe = _SAFE_ENTITY_DECL.fullmatch(m.group(0))
        if safe is not None:
            entities.setdefault(safe.group(1), safe.group(2))
        return b""

    return _ENTITY_DECL.sub(take, head) + data[end:], entities


def _repair(data: bytes, entities: dict[bytes, bytes]) -> bytes:
    budget = MAX_ENTITY_EXPANSION

    def expand(chunk: bytes) -> bytes:
        # Expanded here with bytes.replace rather than by expat: bounded by a budget, and
        # without one parser callback per reference.
        nonlocal budget
        for name, value in entities.items():
            ref = b"&" + name + b";"
            count = chunk.count(ref)
            if count:
                cost = count * len(value)
                chunk = chunk.replace(ref, value if cost <= budget else b"")
                budget -= min(cost, budget)
        return chunk

    def named(m: re.Match[bytes]) -> bytes:
        return _HTML_ENTITIES.get(m.group(1), m.group(0))

    def fix(chunk: bytes) -> bytes:
        chunk = chunk.translate(None, _C0_CONTROLS)
        if b"<" in chunk:
            chunk = _STRAY_LT.sub(b"&lt;", chunk)
        if b"&" in chunk:
            if entities:
                chunk = expand(chunk)
            chunk = _NAMED_REF.sub(named, _STRAY_AMP.sub(b"&amp;", chunk))
        return chunk

    if b"<![CDATA[" not in data and b"<!--" not in data:
        return fix(data)
    parts = _VERBATIM.split(data)
    # re.split with one group: even indexes are markup, odd ones the CDATA/comments.
    return b"".join(part if i % 2 else fix(part) for i, part in enumerate(parts))


def count_markup(content: bytes, limits: tuple[int, int]) -> tuple[int, int]:
    """(``<`` count, ``&`` count) of ``content``: what feedparser's time is proportional to.

    Counts inside CDATA sections and comments are excluded only when the plain counts
    exceed ``limits``, so the common case costs two ``bytes.count`` calls.
    """
    tags, refs = content.count(b"<"), content.count(b"&")
    if tags <= limits[0] and refs <= limits[1]:
        return tags, refs
    outside = _VERBATIM.split(content)[::2]
    return sum(p.count(b"<") for p in outside), sum(p.count(b"&") for p in outside)


def prepare_xml(content: bytes, content_type: str | None) -> PreparedXML:
    """Decide the charset, defuse the DTD and repair stray ``<``/``&`` and HTML entities."""
    charset = charset_of(content_type)
    codec = wide_encoding(content)
    if codec is not None and (charset is None or charset.startswith(("utf-16", "utf-32"))):
        content, charset = _transcode_wide(content, codec), "utf-8"
    declared = charset
    if declared is None:
        m = _XML_DECLARED_ENCODING.match(content[:512])
        declared = m.group(1).decode("ascii").lower() if m else None
    warning = None
    if declared and _SINGLE_BYTE.match(declared) and not content.isascii():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            charset = "utf-8"
            warning = f"the document says it is {declared} but is UTF-8; read as UTF-8"
    data, entities = _take_entities(content)
    if not (declared or "").startswith(_NOT_ASCII_SAFE):
        data = _repair(data, entities)
    return PreparedXML(data, charset, warning)
