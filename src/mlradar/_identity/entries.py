"""The stable identity of a feed entry, and a fingerprint of its content.

The key says which entry of a source a stored item is, across fetches: the feed's own
guid when it gives one, else the canonical link, else a hash of what the entry shows.
The content hash says whether a known entry changed since it was stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from mlradar._identity.urls import canonical_url_or_none

#: A guid longer than this is stored as its hash: keys are indexed, and such guids are junk.
MAX_GUID_CHARS = 512

# Separators that cannot occur in the parts (they are control characters), so that
# ("ab", "c") and ("a", "bc") hash differently, and None differs from "".
_SEP = "\x1f"
_NONE = "\x00"


def _digest(parts: Iterable[str | None]) -> str:
    joined = _SEP.join(_NONE if p is None else p for p in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def entry_key(guid: str | None, link: str | None, fallback_parts: Sequence[str]) -> str:
    """``"id:<guid>"``, else ``"url:<canonical link>"``, else ``"hash:<sha256 of the parts>"``.

    Blank guids and links count as missing.  A link that is not an http(s) URL is used as
    given (stripped): it is still the entry's most stable trait.  A guid longer than
    :data:`MAX_GUID_CHARS` becomes ``"id:sha256:<hex>"``.
    """
    if guid is not None and guid.strip():
        guid = guid.strip()
        if len(guid) > MAX_GUID_CHARS:
            return "id:sha256:" + _digest([guid])
        return "id:" + guid
    if link is not None and link.strip():
        return "url:" + (canonical_url_or_none(link) or link.strip())
    return "hash:" + _digest(fallback_parts)


def content_hash(parts: Iterable[str | None]) -> str:
    """A fingerprint (sha256, 64 hex digits) of the stored fields of an entry, in a fixed
    order; None and "" hash differently."""
    return _digest(parts)
