"""Running the scheduled work: ticks under the runners' lock, a loop, a background thread.

Two runners (a ``mlradar worker`` and a ``serve``, or two workers) never run at once
against one database: a tick first takes the runners' lock without waiting, and a runner
that finds it held skips that tick (and tries again at its next one).  The lock is a file
lock beside a SQLite database (``<db>.worker.lock``; in the cache directory for other
databases) and, on PostgreSQL, also a session advisory lock, which holds across machines.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from mlradar._config import APP_NAME
from mlradar._storage._head import sqlite_file
from mlradar._update.schedule import utcnow
from mlradar._worker.schedule import plan
from mlradar.exceptions import DigestAlreadySentError, RadarError

if TYPE_CHECKING:
    from mlradar._radar import RadarCore
    from mlradar.types import UpdateSummary

log = logging.getLogger(__name__)

#: The PostgreSQL advisory lock the runners hold while a tick runs (a fixed 63-bit number).
RUNNER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"mlradar:worker").digest()[:8]) >> 1

Clock = Callable[[], datetime]


def lock_path_for(database_url: str) -> Path:
    """The runners' lock file: beside a SQLite file, else in the cache directory."""
    db = sqlite_file(database_url)
    if db is not None:
        return db.with_name(db.name + ".worker.lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "worker" / f"{digest}.lock"


@contextmanager
def runner_lock(core: RadarCore) -> Iterator[bool]:
    """Take the runners' lock of ``core``'s database without waiting: True while held,
    False when another runner holds it."""
    from mlradar._rank.locks import try_file_lock

    path = lock_path_for(core.settings.database_url)
    with try_file_lock(path) as mine:
        if not mine:
            yield False
            return
        with core._storage.try_advisory_lock(RUNNER_LOCK_KEY) as held:
            yield held


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick did."""

    at: datetime
    skipped: bool = False
    """Another runner held the lock: nothing was done."""
    update: UpdateSummary | None = None
    digests_sent: tuple[str, ...] = ()
    """Users whose digest was emailed."""
    problems: tuple[str, ...] = ()
    """One line per thing that failed (an update that stopped, a digest not sent)."""
    wake_at: datetime | None = None

    def describe(self) -> str:
        """One line for the log or the terminal."""
        if self.skipped:
            return "another runner is working on this database: skipped"
        parts = []
        if self.update is not None:
            u = self.update
            parts.append(
                f"updated {len(u.sources)} sources: {u.new} new, {u.updated} updated, "
                f"{u.failed} failed"
            )
        if self.digests_sent:
            parts.append(f"digests sent to {', '.join(self.digests_sent)}")
        parts.extend(self.problems)
        return "; ".join(parts) or "nothing due"


@dataclass
class Worker:
    """Runs due updates and due digests of one core, a tick at a time.

    ``clock`` decides what is due (tests inject one); ``interval`` is the longest wait
    between ticks (setting ``worker_interval_seconds`` when None); ``trigger`` names the
    runner in the update log (``worker``, ``serve``).
    """

    core: RadarCore
    clock: Clock = utcnow
    interval: timedelta | None = None
    trigger: str = "worker"
    last: TickResult | None = field(default=None, init=False)

    def _interval(self) -> timedelta:
        if self.interval is not None:
            return self.interval
        return timedelta(seconds=self.core.settings.worker_interval_seconds)

    def tick(self) -> TickResult:
        """Do what is due now, under the runners' lock (skipped when another runner holds it)."""
        with runner_lock(self.core) as held:
            result = self._tick() if held else TickResult(self.clock(), skipped=True)
        self.last = result
        return result

    def _tick(self) -> TickResult:
        from mlradar._radar._sync import run_sync

        core, now = self.core, self.clock()
        storage = core._storage
        sources = core.sources()
        schedules = storage.digest_schedules()
        decided = plan(
            now,
            [s.state.next_due_at for s in sources],
            [(uid, sch) for uid, _name, sch in schedules],
            storage.last_digest_sends(),
            interval=self._interval(),
        )
        problems: list[str] = []
        summary = None
        if decided.update:
            due = storage.due_sources(now)
            try:
                summary = run_sync(core.run_update(due, trigger=self.trigger))
            except RadarError as exc:
                problems.append(f"update stopped: {exc}")
        sent: list[str] = []
        names = {uid: name for uid, name, _sch in schedules}
        for uid in decided.digests:
            name = names[uid]
            try:
                core.for_user(name).send_digest()
                sent.append(name)
            except DigestAlreadySentError as exc:
                problems.append(f"{name}: {exc}")
            except RadarError as exc:
                problems.append(f"{name}'s digest was not sent: {exc}")
        return TickResult(
            now,
            update=summary,
            digests_sent=tuple(sent),
            problems=tuple(problems),
            wake_at=decided.wake_at,
        )

    def wait_seconds(self) -> float:
        """How long to wait after the last tick: until it said work is next due, at most
        the interval, at least a second."""
        longest = self._interval().total_seconds()
        if self.last is None or self.last.wake_at is None:
            return longest
        left = (self.last.wake_at - self.clock()).total_seconds()
        return max(1.0, min(longest, left))

    def run(
        self, stop: threading.Event, *, on_tick: Callable[[TickResult], None] | None = None
    ) -> None:
        """Tick until ``stop`` is set; a tick's unexpected error is logged, not fatal."""
        while not stop.is_set():
            try:
                result = self.tick()
            except Exception:  # the loop outlives one bad tick; the next one tries again
                log.exception("scheduled work failed")
            else:
                if on_tick is not None:
                    on_tick(result)
            stop.wait(self.wait_seconds())


class BackgroundWorker:
    """A :class:`Worker` in a daemon thread: what ``serve`` runs.  ``stop()`` ends it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.worker.run, args=(self._stop,), name="mlradar-worker", daemon=True
        )

    def start(self) -> BackgroundWorker:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def last(self) -> TickResult | None:
        return self.worker.last

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the loop to stop and wait for the tick in progress (``timeout`` seconds)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def start_background(
    core: RadarCore,
    *,
    interval: timedelta | None = None,
    clock: Clock = utcnow,
    trigger: str = "serve",
) -> BackgroundWorker:
    """Start running ``core``'s due updates and digests in a background thread."""
    return BackgroundWorker(Worker(core, clock=clock, interval=interval, trigger=trigger)).start()


__all__ = [
    "RUNNER_LOCK_KEY",
    "BackgroundWorker",
    "TickResult",
    "Worker",
    "lock_path_for",
    "runner_lock",
    "start_background",
]
