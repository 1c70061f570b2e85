"""Paper identifiers other than arXiv ids and DOIs, read from the links that name them.

A newsletter issue or a forum post links papers on the sites that publish them; each such
link names one paper, and every one of them must become a mention (not just the first):

* OpenReview: ``openreview.net/forum?id=ID`` (also ``/pdf?id=``, ``/attachment?id=``),
  giving ``("openreview", ID)`` (OpenReview ids are case-sensitive: kept as written);
* PMLR: ``proceedings.mlr.press/v235/smith24a.html`` (also the paper's PDF,
  ``/v235/smith24a/smith24a.pdf``), giving ``("pmlr", "v235/smith24a")``, lowercased as
  :func:`mlradar._papers.identity.normalize_key` stores it;
* the ACL Anthology: ``aclanthology.org/2024.acl-long.123/`` (or ``.pdf``, or an old
  ``P19-1001``), giving ``("acl", "2024.acl-long.123")``, lowercased;
* Semantic Scholar: ``semanticscholar.org/paper/<title-slug>/<40 hex>`` (or without the
  slug), giving ``("s2", <40 hex>)``, the Graph API's paperId.

arXiv ids and DOIs are found in the text and links by :mod:`.arxiv` and :mod:`.doi`;
OpenReview and PMLR links are read by :mod:`.venues`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from mlradar._identity.venues import OPENREVIEW_HOSTS, PMLR_HOSTS, openreview_id, pmlr_key

_ACL_HOSTS = frozenset({"aclanthology.org", "www.aclanthology.org"})
_ACL_PATH = re.compile(
    r"^/(\d{4}\.[a-z0-9]+(?:-[a-z0-9]+)*\.\d{1,5}|[a-z]\d{2}-\d{4})(?:\.pdf|/)?$"
)
_S2_HOSTS = frozenset({"semanticscholar.org", "www.semanticscholar.org"})
_S2_PATH = re.compile(r"^/paper/(?:[^/]+/)?([0-9a-f]{40})/?$")


def ref_of_link(url: str) -> tuple[str, str] | None:
    """The ``(scheme, value)`` of the paper ``url`` names (OpenReview, PMLR, the ACL
    Anthology, Semantic Scholar), or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host in OPENREVIEW_HOSTS:
        forum = openreview_id(url.strip())
        return None if forum is None else ("openreview", forum)
    if host in PMLR_HOSTS:
        key = pmlr_key(url.strip())
        return None if key is None else ("pmlr", key)
    if host in _ACL_HOSTS:
        m = _ACL_PATH.match(parts.path.lower())
        if m:
            return ("acl", m.group(1))
    if host in _S2_HOSTS:
        m = _S2_PATH.match(parts.path.lower())
        if m:
            return ("s2", m.group(1))
    return None


def extract_refs(links: Iterable[str | None]) -> tuple[tuple[str, str], ...]:
    """The identifiers of every paper ``links`` name, in order, once each."""
    found: dict[tuple[str, str], None] = {}
    for link in links:
        if link:
            ref = ref_of_link(link)
            if ref is not None:
                found.setdefault(ref, None)
    return tuple(found)
