"""When work is due: pure functions of the clock, the sources' due times and the schedules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlradar.types import DigestSchedule

_DAY = timedelta(days=1)


def digest_slot(schedule: DigestSchedule, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` that ``schedule`` sends a digest (None: off).

    Daily: today at ``hour`` (UTC), else yesterday's.  Weekly: the last ``weekday`` at
    ``hour``.
    """
    if schedule.cadence == "off":
        return None
    today = now.replace(hour=schedule.hour, minute=0, second=0, microsecond=0)
    if schedule.cadence == "daily":
        return today if today <= now else today - _DAY
    back = (now.weekday() - schedule.weekday) % 7
    slot = today - back * _DAY
    return slot if slot <= now else slot - 7 * _DAY


def next_slot(schedule: DigestSchedule, now: datetime) -> datetime | None:
    """The first time after ``now`` that ``schedule`` sends a digest."""
    last = digest_slot(schedule, now)
    if last is None:
        return None
    return last + (_DAY if schedule.cadence == "daily" else 7 * _DAY)


def digest_due(schedule: DigestSchedule, last_send: datetime | None, now: datetime) -> bool:
    """Whether a digest is due: a slot has passed since the last send (or none was sent)."""
    slot = digest_slot(schedule, now)
    if slot is None or not schedule.email:
        return False
    return last_send is None or last_send < slot


@dataclass(frozen=True, slots=True)
class Plan:
    """What a tick does now, and when the next one is worth running."""

    update: bool
    digests: tuple[int, ...]
    """The users (ids) whose digest is due."""
    wake_at: datetime


def plan(
    now: datetime,
    next_due: Iterable[datetime | None],
    schedules: Sequence[tuple[int, DigestSchedule]],
    last_sends: Mapping[int, datetime],
    *,
    interval: timedelta,
) -> Plan:
    """Decide a tick: update when a source is due (``next_due``: each source's next due
    time, None for never fetched, so due), send the digests that are due; wake at the
    earliest next due time or slot, and no later than ``interval`` from now (sources
    added meanwhile are found then)."""
    dues = list(next_due)
    update = any(d is None or d <= now for d in dues)
    digests = tuple(uid for uid, sch in schedules if digest_due(sch, last_sends.get(uid), now))
    wake = now + interval
    for d in dues:
        if d is not None and now < d < wake:
            wake = d
    for _uid, sch in schedules:
        slot = next_slot(sch, now)
        if slot is not None and slot < wake:
            wake = slot
    return Plan(update, digests, wake)


__all__ = ["Plan", "digest_due", "digest_slot", "next_slot", "plan"]
