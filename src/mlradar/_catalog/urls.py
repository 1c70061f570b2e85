"""Catalog URL identity: when two links name the same resource.

:func:`~mlradar._identity.urls.canonicalize_url` gives the canonical form that is stored.
Reading lists are looser than that: one writes ``http://colah.github.io``, another
``https://colah.github.io/``, a third ``https://github.com/Microsoft/Recommenders#readme``
for ``github.com/microsoft/recommenders``.  :func:`match_key` folds those differences so that
an import finds the entry it already has.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mlradar._identity.urls import canonical_url_or_none, canonicalize_url
from mlradar.exceptions import InvalidInputError

# Hosts whose paths are case-insensitive (user and repository names).
_CASE_INSENSITIVE_HOSTS = frozenset({"github.com", "gitlab.com", "twitter.com", "x.com"})
_INDEX_PAGES = ("/index.html", "/index.htm", "/index.php")


def absolute_link(href: str) -> str | None:
    """An http(s) URL from a link target as lists write them, or None if it is not one.

    ``www.distill.pub`` (no scheme) is taken as ``http://www.distill.pub``; relative links,
    anchors and other schemes (mailto:, ftp:) are not resources on the web and give None.
    """
    href = href.strip()
    if href.lower().startswith("www."):
        href = "http://" + href
    return canonical_url_or_none(href)


def match_key(url: str) -> str:
    """The key under which catalog entries are deduplicated.

    The canonical URL without scheme, without a leading ``www.``, without a trailing slash
    or index page, and lowercased on hosts whose paths ignore case.
    Raises :class:`InvalidInputError` for a URL that is not http(s).
    """
    parts = urlsplit(canonicalize_url(url))
    host = parts.hostname or ""
    host = host.removeprefix("www.")
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path
    for index in _INDEX_PAGES:
        if path.endswith(index):
            path = path[: -len(index) + 1]
    path = path.rstrip("/")
    if host in _CASE_INSENSITIVE_HOSTS:
        path = path.lower()
    return netloc + path + (f"?{parts.query}" if parts.query else "")


def match_key_or_none(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return match_key(url)
    except InvalidInputError:
        return None
