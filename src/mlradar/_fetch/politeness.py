"""Per-host politeness: connection bounds, spacing between requests, Retry-After.

It lives inside the client so that no caller can forget it: every request takes a
slot from its host's limiter, and the limiter decides when that request may start.
Time comes from an injectable :class:`Clock` so tests can observe spacing without
waiting for it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from mlradar._config import Settings
from mlradar.exceptions import InvalidInputError

#: The hosts arXiv asks clients to treat politely (one request at a time, 3 s apart).
ARXIV_HOSTS = ("export.arxiv.org", "arxiv.org", "rss.arxiv.org", "oaipmh.arxiv.org")
ARXIV_GROUP = "arxiv"


class Clock(Protocol):
    """Monotonic time and sleeping; the fetcher's only source of time for politeness."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """How a host (or a group of hosts) is treated.

    ``max_connections`` requests at most in flight; ``min_interval`` seconds at least
    between the starts of consecutive requests; ``max_retries`` retries on 429/502/503/504
    and connection errors, waiting Retry-After when given (at most ``max_retry_wait``:
    a server asking for longer gets a FetchError instead) or else ``backoff * 2**n``.
    Hosts with the same ``group`` share one limiter (all of arXiv's hosts count as one).
    """

    max_connections: int = 8
    min_interval: float = 0.0
    max_retries: int = 0
    max_retry_wait: float = 120.0
    backoff: float = 1.0
    group: str | None = None

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise InvalidInputError("max_connections must be at least 1")
        for name in ("min_interval", "max_retry_wait", "backoff"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"{name} must be a finite number >= 0")
        if self.max_retries < 0:
            raise InvalidInputError("max_retries must be >= 0")

    def limits(self) -> tuple[int, float, float]:
        """What hosts sharing a group must agree on."""
        return (self.max_connections, self.min_interval, self.max_retry_wait)


def arxiv_policies(settings: Settings) -> dict[str, HostPolicy]:
    """arXiv's hosts share one policy: one connection, ``arxiv_interval_seconds`` apart.

    They share one limiter too, so a run that reads the API and the RSS listings still
    sends arXiv one request at a time.
    """
    policy = HostPolicy(
        max_connections=1,
        min_interval=settings.arxiv_interval_seconds,
        max_retries=3,
        group=ARXIV_GROUP,
    )
    return dict.fromkeys(ARXIV_HOSTS, policy)


class HostBlockedError(Exception):
    """The host asked (Retry-After) for a pause longer than its policy lets us wait."""

    def __init__(self, seconds: float, status: int | None) -> None:
        super().__init__(f"blocked for {seconds:g} s")
        self.seconds = seconds
        self.status = status


class HostLimiter:
    """Slots for one host or group: a connection bound, start spacing, Retry-After pauses."""

    def __init__(self, policy: HostPolicy, clock: Clock) -> None:
        self.policy = policy
        self._clock = clock
        self._connections = asyncio.Semaphore(policy.max_connections)
        # Held while a request waits for its start time, so concurrent callers queue in order.
        self._start_lock = asyncio.Lock()
        self._next_start = -math.inf
        self._blocked_until = -math.inf
        self._blocked_status: int | None = None

    def defer(self, seconds: float, status: int | None = None) -> None:
        """The host said "come back in ``seconds``": no request to it starts before then."""
        until = self._clock.monotonic() + seconds
        if until > self._blocked_until:
            self._blocked_until = until
            self._blocked_status = status

    def blocked_for(self) -> float:
        """Seconds left of the host's Retry-After pause (0 if none)."""
        return max(0.0, self._blocked_until - self._clock.monotonic())

    @asynccontextmanager
    async def slot(self, shared: asyncio.Semaphore) -> AsyncIterator[None]:
        """Hold one of the host's connections and one of the ``shared`` global ones.

        The host slot is taken first so that requests queued for a slow host never sit on
        global slots other hosts could use.  Raises :class:`HostBlockedError` when the host
        asked for a pause longer than ``max_retry_wait``.
        """
        async with self._connections:
            async with self._start_lock:
                blocked = self.blocked_for()
                if blocked > self.policy.max_retry_wait:
                    raise HostBlockedError(blocked, self._blocked_status)
                wait = max(self._next_start, self._blocked_until) - self._clock.monotonic()
                if wait > 0:
                    await self._clock.sleep(wait)
                await shared.acquire()
                # Spacing counts from the moment the request really starts.
                self._next_start = self._clock.monotonic() + self.policy.min_interval
            try:
                yield
            finally:
                shared.release()


class HostLimits:
    """The limiters of every host seen, keyed by group (or host name when ungrouped)."""

    def __init__(
        self,
        default: HostPolicy,
        policies: Mapping[str, HostPolicy],
        clock: Clock,
    ) -> None:
        self._default = default
        self._policies = {host.lower().rstrip("."): p for host, p in policies.items()}
        self._clock = clock
        self._limiters: dict[str, HostLimiter] = {}
        groups: dict[str, tuple[int, float, float]] = {}
        for host, policy in self._policies.items():
            if policy.group is None:
                continue
            seen = groups.setdefault(policy.group, policy.limits())
            if seen != policy.limits():
                raise InvalidInputError(
                    f"hosts of group {policy.group!r} disagree on their limits ({host})"
                )

    def policy_for(self, host: str) -> HostPolicy:
        """The policy of ``host`` (case and a trailing dot do not matter)."""
        return self._policies.get(host.lower().rstrip("."), self._default)

    def limiter_for(self, host: str) -> HostLimiter:
        """The limiter ``host`` shares with its group, created on first use."""
        name = host.lower().rstrip(".")
        policy = self.policy_for(name)
        key = f"group:{policy.group}" if policy.group else f"host:{name}"
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = HostLimiter(policy, self._clock)
        return limiter
