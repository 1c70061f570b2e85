"""Scheduling decisions: examples for each rule, then properties over all inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlradar._update.schedule import MAX_RETRY_AFTER, due_delay, next_due_at

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def due(
    errors: int = 0,
    *,
    retry_after: float | None = None,
    max_age: float | None = None,
    interval: timedelta = HOUR,
    max_backoff: timedelta = DAY,
) -> timedelta:
    when = next_due_at(
        NOW,
        interval=interval,
        consecutive_errors=errors,
        retry_after=retry_after,
        max_age=max_age,
        max_backoff=max_backoff,
    )
    return when - NOW


def test_healthy_source_is_due_after_the_interval() -> None:
    assert due() == HOUR


def test_errors_back_off_exponentially_then_cap() -> None:
    assert [due(e) for e in range(1, 8)] == [
        HOUR,
        2 * HOUR,
        4 * HOUR,
        8 * HOUR,
        16 * HOUR,
        DAY,
        DAY,
    ]
    assert due(10_000) == DAY


def test_max_age_longer_than_the_interval_pushes_back() -> None:
    assert due(max_age=3 * 3600) == 3 * HOUR
    assert due(max_age=60) == HOUR  # a short max-age never polls faster than the interval
    assert due(max_age=365 * 86400) == DAY  # capped: a year of "fresh" is not believed
    assert due(max_age=None) == HOUR


def test_retry_after_is_a_floor_even_beyond_the_cap() -> None:
    assert due(retry_after=7200) == 2 * HOUR
    assert due(retry_after=60) == HOUR
    assert due(3, retry_after=10) == 4 * HOUR
    assert due(retry_after=2 * 86400) == 2 * DAY
    assert due(retry_after=10 * 365 * 86400) == MAX_RETRY_AFTER


def test_max_backoff_below_the_interval_never_speeds_up_polling() -> None:
    assert due(5, interval=2 * DAY, max_backoff=DAY) == 2 * DAY
    assert due(0, interval=2 * DAY, max_backoff=DAY) == 2 * DAY


def test_odd_numbers_are_ignored() -> None:
    assert due(-3) == HOUR
    assert due(retry_after=-5, max_age=float("nan")) == HOUR
    assert due(max_age=float("inf")) == DAY
    with pytest.raises(ValueError, match="interval"):
        due(interval=timedelta(0))


def test_result_is_deterministic_and_keeps_the_timezone() -> None:
    first = next_due_at(
        NOW, interval=HOUR, consecutive_errors=4, retry_after=None, max_age=None, max_backoff=DAY
    )
    second = next_due_at(
        NOW, interval=HOUR, consecutive_errors=4, retry_after=None, max_age=None, max_backoff=DAY
    )
    assert first == second == NOW + 8 * HOUR
    assert first.tzinfo is UTC


seconds = st.floats(min_value=0, max_value=10 * 365 * 86400, allow_nan=False)
#: Keyword arguments of due_delay, consecutive_errors aside.
inputs = st.fixed_dictionaries(
    {
        "interval": st.integers(min_value=1, max_value=7 * 86400).map(
            lambda s: timedelta(seconds=s)
        ),
        "max_backoff": st.integers(min_value=0, max_value=30 * 86400).map(
            lambda s: timedelta(seconds=s)
        ),
        "retry_after": st.none() | seconds,
        "max_age": st.none() | seconds,
    }
)
errors = st.integers(min_value=0, max_value=200)


@given(inputs, errors)
def test_monotone_in_errors(kw: dict[str, Any], n: int) -> None:
    assert due_delay(consecutive_errors=n, **kw) <= due_delay(consecutive_errors=n + 1, **kw)


@given(inputs, errors)
def test_bounds(kw: dict[str, Any], n: int) -> None:
    """Never before the interval nor Retry-After (up to its bound), never beyond the cap
    unless Retry-After asks for longer."""
    delay = due_delay(consecutive_errors=n, **kw)
    cap = max(kw["max_backoff"], kw["interval"])
    assert delay >= kw["interval"]
    if kw["retry_after"] is None:
        assert delay <= cap
        return
    asked = min(kw["retry_after"], MAX_RETRY_AFTER.total_seconds())
    # timedelta keeps microseconds: allow that much rounding either way.
    assert delay.total_seconds() >= asked - 1e-6
    assert delay <= max(cap, timedelta(seconds=asked) + timedelta(microseconds=1))


@given(inputs)
def test_first_error_retries_at_the_normal_pace(kw: dict[str, Any]) -> None:
    assert due_delay(consecutive_errors=1, **kw) == due_delay(consecutive_errors=0, **kw)
