"""DOIs: finding them in text and in doi.org links, and normalising them.

A DOI is ``10.<registrant>/<suffix>``.  DOIs are case-insensitive, so the normal form is
lowercase, without a ``doi:`` prefix or resolver URL, percent-escapes decoded, and without
the punctuation that ends a sentence or closes a bracket opened before the DOI.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from mlradar.exceptions import InvalidInputError

# Crossref's recommended pattern (it matches 99.3% of registered DOIs); a wider one would
# swallow the query string of a publisher link, or the markup around a DOI.
_DOI = re.compile(r"(?<![\w.])10\.\d{4,9}/[-._;()/:A-Za-z0-9]+")
# A resolver link with the slash percent-encoded: doi.org/10.1000%2Fxyz.
_ENCODED = re.compile(r"doi\.org/(10\.\d{4,9}%2F[-._;()/:A-Za-z0-9%]+)", re.IGNORECASE)
_RESOLVER = re.compile(r"^(?:doi\s*:\s*|(?:https?://)?(?:dx\.)?doi\.org/|info:doi/)", re.IGNORECASE)
_TRAILING = ".,;:"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim(doi: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end."""
    while doi:
        last = doi[-1]
        if last in _TRAILING or (last in _CLOSERS and doi.count(last) > doi.count(_CLOSERS[last])):
            doi = doi[:-1]
        else:
            break
    return doi


def normalize_doi(s: str) -> str:
    """The normal form of one DOI given as ``10.x/y``, ``doi:10.x/y`` or a doi.org link.

    Raises :class:`~mlradar.exceptions.InvalidInputError` when ``s`` holds no DOI.
    """
    text = _RESOLVER.sub("", s.strip())
    if "%" in text:
        text = unquote(text)
    m = _DOI.match(text)
    if m is None:
        raise InvalidInputError(f"{s!r} is not a DOI (expected e.g. 10.1000/xyz123)")
    doi = _trim(m.group(0))
    if doi.endswith("/"):
        raise InvalidInputError(f"{s!r} is not a DOI: it has no suffix")
    return doi.lower()


def extract_dois(text: str) -> list[str]:
    """The DOIs named in ``text`` (prose, HTML or links), normalised, deduplicated, in order
    of first appearance."""
    if not text or "10." not in text:
        return []
    hits = [(m.start(), unquote(m.group(1))) for m in _ENCODED.finditer(text)]
    hits += [(m.start(), m.group(0)) for m in _DOI.finditer(text)]
    found: dict[str, None] = {}
    for _, raw in sorted(hits):
        doi = _trim(raw)
        if not doi.endswith("/"):
            found.setdefault(doi.lower(), None)
    return list(found)
