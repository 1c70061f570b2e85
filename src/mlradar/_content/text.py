"""Accent folding shared by every key and feature that ignores accents.

:func:`strip_accents` gives exactly what scikit-learn's ``strip_accents="unicode"`` gives
(NFKD, then every combining mark dropped), without its Python-level call per character:
that loop was the largest single cost of featurizing blog posts, whose text is rarely pure
ASCII (one curly quote is enough to take the slow path).
"""

from __future__ import annotations

import unicodedata
from functools import cache

#: Every code point with a combining class lies in U+0300..U+1FFFF in Python 3.11's
#: Unicode database (a test checks the whole range), so scanning that span is exact and
#: takes ~20 ms, not 150.
_SCAN = range(0x300, 0x20000)


@cache
def combining_marks() -> frozenset[str]:
    """The characters ``unicodedata.combining`` calls combining, from this Python's own
    Unicode database."""
    return frozenset(c for c in map(chr, _SCAN) if unicodedata.combining(c))


def strip_accents(text: str) -> str:
    """``text`` in NFKD with its combining marks removed (ASCII text is returned as is)."""
    if text.isascii():
        return text
    plain = unicodedata.normalize("NFKD", text)
    # One C-level pass finds which marks occur; a text holds few distinct ones.
    for mark in combining_marks().intersection(plain):
        plain = plain.replace(mark, "")
    return plain
