"""A short-lived cache of the records a page shows, per user.

Ranking "for you", a search over 75k papers or the newest items of many feeds takes tens
of milliseconds of database and numpy work; readers reload, page back and forth, and
several tabs ask for the same lists.  So a view's records are kept for a few seconds
(``WebSettings.cache_seconds``), keyed by the user and what was asked.  Any write that
user makes through the app (every unsafe request: actions, sources, progress) drops their
entries at once; what other processes write (the CLI, a worker's update) shows within
the time-to-live.  ``cache_seconds=0`` turns it off.

One request computes a view at a time (single flight).  Without that, an entry expiring
under load had every waiting request compute it at once, two cores shared by sixteen
rankings, and the tail latency was that pile-up.  So while one request recomputes an
expired entry the others get the previous value (at most one time-to-live older), and a
request for a value nobody has yet waits for the one being computed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class ViewCache:
    def __init__(
        self,
        seconds: float,
        *,
        max_entries: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._generations: dict[int, int] = {}
        self._inflight: dict[Hashable, threading.Event] = {}
        # A waiter looks again after this long even if the computing request hangs.
        self._wait_seconds = 30.0
        self.hits = 0
        self.misses = 0
        self.stale = 0

    def get_or_make(self, user_id: int, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value for ``(user_id, key)``, else ``make()`` (kept when it returns).

        While another thread computes the same entry, an expired value no older than two
        time-to-lives is returned as it is, and a missing one is waited for."""
        if self.seconds <= 0:
            return make()
        while True:
            now = self._clock()
            with self._lock:
                full = (user_id, self._generations.get(user_id, 0), key)
                found = self._entries.get(full)
                if found is not None and found[0] > now:
                    self._entries.move_to_end(full)
                    self.hits += 1
                    return found[1]  # type: ignore[return-value]
                running = self._inflight.get(full)
                if running is None:
                    running = self._inflight[full] = threading.Event()
                    self.misses += 1
                    break  # this thread computes it
                if found is not None and found[0] + self.seconds > now:
                    self.stale += 1
                    return found[1]  # type: ignore[return-value]
            # Someone computes what this request needs: wait for it, then look again (if
            # it failed, the next pass finds nobody computing and computes it itself).
            running.wait(self._wait_seconds)
        try:
            value = make()
        except BaseException:
            with self._lock:
                self._inflight.pop(full, None)
            running.set()
            raise
        with self._lock:
            self._entries[full] = (now + self.seconds, value)
            self._entries.move_to_end(full)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self._inflight.pop(full, None)
        running.set()
        return value

    def forget_user(self, user_id: int) -> None:
        """Drop a user's entries (they changed something): a new generation of keys."""
        with self._lock:
            self._generations[user_id] = self._generations.get(user_id, 0) + 1
            stale = [k for k in self._entries if isinstance(k, tuple) and k[0] == user_id]
            for k in stale:
                del self._entries[k]
