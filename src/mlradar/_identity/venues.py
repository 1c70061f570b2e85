"""Papers named by their conference pages: OpenReview forums and PMLR proceedings.

A post that links ``https://openreview.net/forum?id=abc`` or
``https://proceedings.mlr.press/v235/smith24a.html`` names that paper as surely as an
arXiv link does; these read the identifier out of such a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

OPENREVIEW_HOSTS = frozenset({"openreview.net", "www.openreview.net"})
PMLR_HOSTS = frozenset({"proceedings.mlr.press", "www.proceedings.mlr.press"})

#: OpenReview note ids: letters, digits, ``_`` and ``-`` (``rJl-b3RcF7``, ``SEALz0x1``).
_OPENREVIEW_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_OPENREVIEW_PATHS = ("/forum", "/pdf", "/attachment")
# /v235/smith24a.html, /v235/smith24a/smith24a.pdf, /v235/smith24a
_PMLR_PATH = re.compile(r"^/(?P<volume>v\d{1,4})/(?P<key>[a-z0-9_-]{2,100})(?:\.html|/[^/]*)?$")


def openreview_id(url: str) -> str | None:
    """The forum id of an OpenReview forum or PDF link, else None."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in OPENREVIEW_HOSTS:
        return None
    if parts.path.rstrip("/") not in _OPENREVIEW_PATHS:
        return None
    ids = parse_qs(parts.query).get("id") or []
    value = ids[0].strip() if ids else ""
    return value if _OPENREVIEW_ID.match(value) else None


def pmlr_key(url: str) -> str | None:
    """``v235/smith24a`` for a PMLR paper's page or PDF link, else None."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in PMLR_HOSTS:
        return None
    m = _PMLR_PATH.match(parts.path.lower())
    if m is None or m.group("key") == "assets":  # a volume's shared files, no paper
        return None
    return f"{m.group('volume')}/{m.group('key')}"


def venue_refs(links: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The ``("openreview", id)`` and ``("pmlr", "v235/key")`` identifiers the links name,
    in order, without repeats."""
    found: dict[tuple[str, str], None] = {}
    for link in links:
        forum = openreview_id(link)
        if forum is not None:
            found.setdefault(("openreview", forum), None)
            continue
        key = pmlr_key(link)
        if key is not None:
            found.setdefault(("pmlr", key), None)
    return tuple(found)
