"""When to fetch a source next: a pure decision from the last outcome.

The rules, in order:

1. A healthy source (``consecutive_errors == 0``) is due after ``interval``.
2. A failing one backs off exponentially: ``interval * 2**(errors - 1)``, so the first
   error retries at the normal pace and each further one doubles the wait.
3. The server's ``Cache-Control: max-age`` pushes the time back when the copy we have
   stays fresh longer than ``interval``: fetching earlier would only get the same bytes.
4. Steps 2 and 3 are capped at ``max_backoff``, so a source is always retried within a
   day (by default) even if it claims to be fresh for a year.  A ``max_backoff`` below
   ``interval`` is treated as ``interval``: errors never make a source polled MORE often.
5. ``Retry-After`` is a floor the cap does not lower: the server asked, and polling
   earlier risks a ban.  It is itself bounded by :data:`MAX_RETRY_AFTER` so that a
   hostile or broken header cannot silence a source for years.

No jitter: the same inputs always give the same time (tests and reruns agree).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

#: The longest a Retry-After header is honoured for.
MAX_RETRY_AFTER = timedelta(days=7)

# 2**60 intervals outlasts any calendar; keeps the arithmetic finite.
_MAX_EXPONENT = 60


def _seconds(value: float | None) -> float | None:
    """A usable non-negative number of seconds, or None (negative and NaN are ignored)."""
    if value is None or math.isnan(value) or value < 0:
        return None
    return value


def due_delay(
    *,
    interval: timedelta,
    consecutive_errors: int,
    retry_after: float | None,
    max_age: float | None,
    max_backoff: timedelta,
) -> timedelta:
    """How long after now the source is due; see the module docstring for the rules."""
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    cap = max(max_backoff, interval)
    cap_s = cap.total_seconds()
    errors = max(consecutive_errors, 0)
    exponent = min(max(errors - 1, 0), _MAX_EXPONENT)
    delay_s = min(interval.total_seconds() * 2.0**exponent, cap_s)
    fresh = _seconds(max_age)
    if fresh is not None:
        delay_s = max(delay_s, min(fresh, cap_s))
    pause = _seconds(retry_after)
    if pause is not None:
        delay_s = max(delay_s, min(pause, MAX_RETRY_AFTER.total_seconds()))
    return timedelta(seconds=delay_s)


def next_due_at(
    now: datetime,
    *,
    interval: timedelta,
    consecutive_errors: int,
    retry_after: float | None,
    max_age: float | None,
    max_backoff: timedelta,
) -> datetime:
    """The time the source is next due, counted from ``now`` (the fetch time).

    Deterministic.  Healthy: ``now + interval``; failing:
    ``now + interval * 2**(errors-1)``; either pushed back to ``max_age`` when that is
    longer, both capped at ``max_backoff`` (but never below ``interval``), and never
    before ``now + retry_after`` (honoured up to 7 days, beyond the cap).
    """
    delay = due_delay(
        interval=interval,
        consecutive_errors=consecutive_errors,
        retry_after=retry_after,
        max_age=max_age,
        max_backoff=max_backoff,
    )
    try:
        return now + delay
    except OverflowError:
        return datetime.max.replace(tzinfo=now.tzinfo)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: the clock every fetch time is read from."""
    return datetime.now(UTC)
