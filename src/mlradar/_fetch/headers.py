"""Pure parsers for the response headers the scheduler cares about, and size wording."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def _cache_directives(value: str) -> dict[str, str | None]:
    """Directive name (lowercased) -> value (unquoted) or None; the first occurrence wins."""
    directives: dict[str, str | None] = {}
    for part in _split_commas(value):
        name, sep, raw = part.partition("=")
        arg: str | None = raw.strip() if sep else None
        if arg is not None and len(arg) >= 2 and arg[0] == arg[-1] == '"':
            arg = re.sub(r"\\(.)", r"\1", arg[1:-1])
        directives.setdefault(name.strip().lower(), arg)
    return directives


def _split_commas(value: str) -> list[str]:
    """Split on commas that are not inside a quoted string (``no-cache="a, b"``)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _non_negative_seconds(text: str) -> float | None:
    try:
        seconds = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def parse_max_age(cache_control: str | None, age: str | None = None) -> float | None:
    """Seconds the response stays fresh, from ``Cache-Control: max-age``.

    ``s-maxage`` (for shared caches) is ignored.  ``no-cache`` and ``no-store`` mean "no
    freshness" and give None, as does a missing or malformed max-age.  When an ``Age``
    header says a cache already held the response for a while, that time is subtracted:
    what is left is when a fresh copy can next be had.
    """
    if not cache_control:
        return None
    directives = _cache_directives(cache_control)
    if "no-cache" in directives or "no-store" in directives:
        return None
    raw = directives.get("max-age")
    if raw is None:
        return None
    max_age = _non_negative_seconds(raw)
    if max_age is None:
        return None
    already = _non_negative_seconds(age) if age else None
    if already is not None:
        max_age = max(0.0, max_age - already)
    return max_age


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    A date in the past gives 0.  Malformed values give None (as if absent).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds = _non_negative_seconds(text)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def format_size(size: int) -> str:
    """``16777216`` -> ``"16 MiB"``; sizes that are not a round unit stay in bytes or KiB."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def format_seconds(seconds: float) -> str:
    """``30.0`` -> ``"30 s"``, ``0.25`` -> ``"0.25 s"``."""
    return f"{seconds:g} s"


def parse_ratelimit_pause(headers: Mapping[str, str], *, limited: bool = False) -> float | None:
    """Seconds to pause a host from its ``X-Ratelimit-Remaining``/``X-Ratelimit-Reset``
    headers (Reddit's; ``Reset`` is in seconds): the reset when nothing remains of the
    window, or when the response already says so (``limited``: a 429 without Retry-After).
    None when the headers do not ask for a pause.
    """
    reset = _non_negative_seconds(headers.get("x-ratelimit-reset") or "")
    if reset is None:
        return None
    if limited:
        return reset
    remaining = headers.get("x-ratelimit-remaining")
    try:
        left = float(remaining) if remaining is not None else None
    except ValueError:
        return None
    return reset if left is not None and left < 1 else None
