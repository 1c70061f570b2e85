"""Canonical URLs: the form under which the same page joins across sources.

The rules (RFC 3986 normalisation plus de-tracking):

* scheme and host lowercased; unicode hosts IDNA-encoded; a trailing dot on the host dropped;
* the default port (80 for http, 443 for https) dropped;
* percent-encoding normalised: escapes of unreserved characters decoded, other escapes
  uppercased, characters that must be escaped (spaces, non-ASCII) encoded as UTF-8, and an
  existing escape never encoded twice;
* ``.`` and ``..`` path segments resolved; an empty path becomes ``/``;
* the fragment dropped;
* tracking parameters (:data:`TRACKING_PARAMS` and any ``utm_*``) dropped from the query,
  the others kept in their original order; empty ``&&`` pairs and a bare ``?`` dropped;
* user info (``user:pass@``) kept, so a URL that needs it still works.

Only ``http`` and ``https`` URLs with a host are accepted: anything else raises
:class:`~mlradar.exceptions.InvalidInputError` (callers that want "canonical or nothing"
use :func:`canonical_url_or_none`).  The function is idempotent.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urlsplit

from mlradar.exceptions import InvalidInputError

#: Query parameters that only track the reader; dropped (compared case-insensitively).
#: Any parameter whose name starts with ``utm_`` is dropped too.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "igshid",
        "ref",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_conv",
        "vero_id",
        "wickedid",
        "s_cid",
        "spm",
        "scm",
        "cmpid",
        "trk",
        "sr_share",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_OK = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_IPV6_OK = re.compile(r"[0-9a-f:.]+")
# Characters that may stay literal in a path / a query component (RFC 3986 pchar plus "/"
# and "?"); everything else is percent-encoded.  "&", "=" and "+" stay literal in the query
# so its meaning does not change.
_PATH_SAFE = frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = frozenset("!$&'()*+,;=:@/?")


@lru_cache(maxsize=8)
def _literal_only(safe: frozenset[str]) -> re.Pattern[str]:
    """A component made only of characters that stay literal (and no escape at all)."""
    return re.compile("[" + re.escape("".join(sorted(_UNRESERVED | safe))) + "]*")


def _normalize_escapes(component: str, safe: frozenset[str]) -> str:
    """Percent-encode what must be, decode what need not be, uppercase the rest."""
    # Most URLs need nothing done: one regex over them instead of a Python loop per
    # character (which would give them back unchanged).
    if _literal_only(safe).fullmatch(component):
        return component
    return _escape_each(component, safe)


def _escape_each(component: str, safe: frozenset[str]) -> str:
    """:func:`_normalize_escapes` character by character, for any component."""
    component = _STRAY_PERCENT.sub("%25", component)
    out: list[str] = []
    for ch in component:
        if ch in _UNRESERVED or ch in safe or ch == "%":
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    encoded = "".join(out)

    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(fix, encoded)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on an absolute path."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:]:
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out)
    # A path ending in "/." or "/.." names a directory: keep its trailing slash.
    if segments[-1] in (".", "..") and not result.endswith("/"):
        result += "/"
    return result


def _canonical_host(parts: SplitResult, url: str) -> str:
    try:
        host = parts.hostname
    except ValueError as exc:  # pragma: no cover - urlsplit already validated brackets
        raise InvalidInputError(f"{url!r} is not a valid URL: {exc}") from None
    if not host:
        raise InvalidInputError(f"{url!r} is not a valid URL: it has no host")
    if ":" in host:  # an IPv6 literal (hostname strips the brackets)
        if not _IPV6_OK.fullmatch(host):
            raise InvalidInputError(f"{url!r} is not a valid URL: bad IPv6 host")
        return f"[{host}]"
    host = unquote(host).rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInputError(
                f"{url!r} is not a valid URL: its host cannot be IDNA-encoded"
            ) from None
    host = host.lower()
    if not _HOST_OK.fullmatch(host):
        raise InvalidInputError(f"{url!r} is not a valid URL: bad host {host!r}")
    return host


def _canonical_query(query: str) -> str:
    kept: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0].replace("+", " ")).strip().lower()
        if name.startswith("utm_") or name in TRACKING_PARAMS:
            continue
        kept.append(_normalize_escapes(pair, _QUERY_SAFE))
    return "&".join(kept)


def canonicalize_url(url: str) -> str:
    """The canonical form of an absolute http(s) URL (see the module docstring for the rules).

    Raises :class:`~mlradar.exceptions.InvalidInputError` when ``url`` is not an absolute
    http or https URL with a valid host.
    """
    raw = url.strip()
    if any(ch in raw for ch in "\t\r\n"):
        # Browsers drop these inside URLs; so do we, before splitting.
        raw = re.sub(r"[\t\r\n]", "", raw)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidInputError(f"{url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInputError(f"{url!r} is not an http or https URL")
    host = _canonical_host(parts, url)
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        netloc = f"{_normalize_escapes(userinfo, frozenset('!$&()*+,;=:'))}@{netloc}"
    path = _normalize_escapes(parts.path, _PATH_SAFE) or "/"
    if not path.startswith("/"):
        path = "/" + path
    path = _remove_dot_segments(path)
    query = _canonical_query(parts.query)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def canonical_url_or_none(url: str | None) -> str | None:
    """:func:`canonicalize_url`, or None when ``url`` is missing or not an http(s) URL."""
    if not url:
        return None
    try:
        return canonicalize_url(url)
    except InvalidInputError:
        return None
