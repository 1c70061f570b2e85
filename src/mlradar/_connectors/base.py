"""The one interface a source kind implements, and the records it trades in.

A connector turns what a user types (``https://blog.example/``, ``arxiv:cs.LG``,
``hn:top``) into a :class:`SourceSpec` to store, and later fetches that source: it gets a
:class:`SourceRef` (the stored source with its settings and the opaque state it left last
time) and a :class:`FetchContext`, and returns one :class:`FetchResult`.  It owns its host
policies (politeness) and its state (validators, cursors, since-ids): the pipeline,
the CLI and storage know no connector by name.

A connector raises :class:`~mlradar.exceptions.SourceError` (or any subclass: FetchError,
ParseError) for a problem with its source.  Anything else it raises is a bug, and the
pipeline still confines it to the source (see :func:`mlradar._update.pipeline.wrap_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from mlradar._config import Settings
from mlradar._fetch import Fetcher, HostPolicy
from mlradar._model import ParsedEntry
from mlradar.types import Paper

T = TypeVar("T")

#: JSON-able values: connector settings and state are stored as JSON text.
Json = Any


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as a connector understood the user's input, ready to store.

    ``url`` is the source's identity (unique among sources: ``https://blog.example/feed``,
    ``arxiv:cs.LG``, ``hn:top``); ``canonical_url`` another spelling of it that finds an
    existing subscription (two URLs that differ by tracking parameters are one feed).
    ``config`` holds the connector's settings for it, as JSON-able values.
    """

    kind: str
    url: str
    canonical_url: str | None = None
    title: str | None = None
    home_url: str | None = None
    config: Mapping[str, Json] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A stored source as its connector sees it on a fetch."""

    id: int
    kind: str
    url: str
    title: str | None
    config: Mapping[str, Json]
    state: Mapping[str, Json]
    """What the connector returned as ``FetchResult.state`` last time ({} at first)."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch of one source brought.

    ``entries`` is None when the source answered "not modified".  ``papers`` are full
    paper records to store beside the entries (a listing knows their metadata).
    ``state`` is the connector's new state for the source (None: keep the old one).
    ``warning`` is a problem worked around (entries dropped by a cap, a wrong charset):
    it is recorded on the source and shown, the entries are stored.
    """

    entries: tuple[ParsedEntry, ...] | None
    papers: tuple[Paper, ...] = ()
    state: Mapping[str, Json] | None = None
    status: int | None = 200
    retry_after: float | None = None
    max_age: float | None = None
    title: str | None = None
    home_url: str | None = None
    warning: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.entries is None


class FetchContext(Protocol):
    """What the pipeline lends a connector for one fetch."""

    @property
    def fetcher(self) -> Fetcher:
        """The run's HTTP client (polite, bounded, SSRF-safe)."""
        ...

    @property
    def settings(self) -> Settings: ...

    @property
    def now(self) -> datetime:
        """When this source's fetch started."""
        ...

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound work (parsing) in the run's worker processes when it has them.

        ``fn`` and its arguments must pickle: a module-level function and plain data.
        """
        ...


class ResolveContext(Protocol):
    """What resolving a new source's spec may use: one HTTP client and the settings."""

    @property
    def fetcher(self) -> Fetcher: ...

    @property
    def settings(self) -> Settings: ...


class Connector(Protocol):
    """A source kind.  Mount one in a :class:`~mlradar._connectors.registry.Registry`."""

    #: Stored as ``sources.kind``; one word: ``feed``, ``arxiv``, ``hackernews``.
    kind: str
    #: How the kind is named to users: ``feed``, ``arXiv``, ``Hacker News``.
    label: str

    def parse_spec(self, text: str) -> SourceSpec | None:
        """The source ``text`` names, when it is this connector's (else None).

        No I/O.  Raises InvalidInputError when the text is this connector's but wrong
        (``arxiv:cs.XX``).
        """
        ...

    async def resolve(self, spec: SourceSpec, ctx: ResolveContext) -> SourceSpec:
        """The spec to store, after what network lookups it needs (a blog's home page to
        its feed, a YouTube ``@handle`` to its channel id); ``spec`` itself when none."""
        ...

    def policies(self, settings: Settings) -> Mapping[str, HostPolicy]:
        """Politeness for the hosts it talks to (arXiv: one connection, 3 s apart)."""
        ...

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        """Fetch ``source`` once."""
        ...


@dataclass(frozen=True, slots=True)
class InlineContext:
    """A context that runs CPU work in the calling thread: for resolving specs, for one
    source fetched on its own, and for tests."""

    fetcher: Fetcher
    settings: Settings
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


def state_text(state: Mapping[str, Json], key: str) -> str | None:
    """A text value of a source's state (a validator), or None when absent or not text."""
    value = state.get(key)
    return value if isinstance(value, str) and value else None
