"""Decoding a feed whose bytes are not all valid in its declared charset.

feedparser, given a document that does not decode in the charset it was told, starts
again with the next candidate (windows-1252 in the end) and reads the *whole* document
that way: a UTF-8 feed with three bad bytes stores ``cafÃ©`` for every ``café``, and
says nothing.  Readers replace the bad bytes instead, and so does this module: the
document is decoded as declared, each invalid sequence becomes U+FFFD, and the result
goes on as UTF-8 with a warning that counts the replacements.

A document that decodes cleanly, or whose charset Python does not know, is left exactly
as it is (zero copies on the common path: one strict decode).  So is one that declares no
charset and holds no more valid UTF-8 beyond ASCII than invalid bytes: that is an
undeclared legacy charset (latin-1), which feedparser's own fallback reads correctly.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_XML_DECLARED_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([\w.:-]+)")
#: Past this many bad sequences the rest is replaced in one pass and the count says "more".
MAX_COUNTED = 1000


@dataclass(frozen=True, slots=True)
class Decoded:
    data: bytes
    #: The charset to tell the XML parser (None: let it read the XML declaration).
    charset: str | None
    #: What was replaced, in words; None when nothing was.
    warning: str | None


def declared_charset(data: bytes, charset: str | None) -> str | None:
    """The charset a document says it is in: the given one (Content-Type), else its XML
    declaration's; None when neither says."""
    if charset:
        return charset
    m = _XML_DECLARED_ENCODING.match(data[:512])
    return m.group(2).decode("ascii").lower() if m else None


def _replace_invalid(data: bytes, codec: str) -> tuple[str, int]:
    """The text of ``data`` with each invalid sequence replaced, and how many there were."""
    parts: list[str] = []
    count = 0
    position = 0
    while True:
        try:
            parts.append(data[position:].decode(codec))
            break
        except UnicodeDecodeError as exc:
            parts.append(data[position : position + exc.start].decode(codec))
            parts.append("\ufffd")
            count += 1
            position += exc.end
            if count >= MAX_COUNTED:
                parts.append(data[position:].decode(codec, "replace"))
                break
    return "".join(parts), count


def _non_ascii(text: str) -> int:
    """Characters beyond ASCII, replacement characters aside."""
    return sum(1 for ch in text if ch > "\x7f") - text.count("\ufffd")


def decode_as_declared(data: bytes, charset: str | None) -> Decoded:
    """``data`` decoded as declared, bad bytes replaced, as UTF-8 when anything was.

    ``charset`` is what the parser would be told (None: the XML declaration decides).
    """
    declared = declared_charset(data, charset)
    name = declared or "utf-8"  # RFC 7303's default
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return Decoded(data, charset, None)
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        pass
    else:
        return Decoded(data, charset, None)
    text, count = _replace_invalid(data, codec)
    if declared is None and _non_ascii(text) <= count:
        # Nothing declared, and no more valid UTF-8 beyond ASCII than invalid bytes (a
        # latin-1 "é" followed by two high bytes can pass for UTF-8 by chance): a legacy
        # charset left unsaid, not UTF-8 with bad bytes.  feedparser's fallback reads it
        # best, and notes the override.
        return Decoded(data, charset, None)
    fixed = text.lstrip("\ufeff").encode("utf-8")
    # The declaration must now say what the bytes are.
    fixed = _XML_DECLARED_ENCODING.sub(rb"\1utf-8", fixed, count=1)
    more = "more than " if count >= MAX_COUNTED else ""
    noun = "sequence" if count == 1 else "sequences"
    warning = (
        f"{more}{count} invalid {name} byte {noun} replaced with \ufffd; the rest of the feed "
        "was read as declared"
    )
    return Decoded(fixed, "utf-8", warning)
