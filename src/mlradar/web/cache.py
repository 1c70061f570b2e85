"""A short-lived cache of the records a page shows, per user.

Ranking "for you", a search over 75k papers or the newest items of many feeds takes tens
of milliseconds of database and numpy work; readers reload, page back and forth, and
several tabs ask for the same lists.  So a view's records are kept for a few seconds
(``WebSettings.cache_seconds``), keyed by the user and what was asked.  Any write that
user makes through the app (every unsafe request: actions, sources, progress) drops their
entries at once; what other processes write (the CLI, a worker's update) shows within
the time-to-live.  ``cache_seconds=0`` turns it off.
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
        self.hits = 0
        self.misses = 0

    def get_or_make(self, user_id: int, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value for ``(user_id, key)``, else ``make()`` (kept when it returns)."""
        if self.seconds <= 0:
            return make()
        now = self._clock()
        with self._lock:
            full = (user_id, self._generations.get(user_id, 0), key)
            found = self._entries.get(full)
            if found is not None and found[0] > now:
                self._entries.move_to_end(full)
                self.hits += 1
                return found[1]  # type: ignore[return-value]
            self.misses += 1
        value = make()  # outside the lock: two misses may both compute, neither waits
        with self._lock:
            self._entries[full] = (now + self.seconds, value)
            self._entries.move_to_end(full)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def forget_user(self, user_id: int) -> None:
        """Drop a user's entries (they changed something): a new generation of keys."""
        with self._lock:
            self._generations[user_id] = self._generations.get(user_id, 0) + 1
            stale = [k for k in self._entries if isinstance(k, tuple) and k[0] == user_id]
            for k in stale:
                del self._entries[k]
