"""Source kinds as plug-ins: one connector module per kind, mounted in a registry.

* :mod:`.base` — the :class:`~.base.Connector` interface and the records it trades in;
* :mod:`.registry` — :class:`~.registry.Registry` and :func:`~.registry.default_registry`
  (the built-in kinds, then any a package provides through the ``mlradar.connectors``
  entry-point group);
* one module per kind: :mod:`.feed` (RSS, Atom, JSON Feed), :mod:`.arxiv`,
  :mod:`.hackernews` (Firebase lists, Algolia search), :mod:`.reddit` (subreddit JSON
  listings), :mod:`.youtube` (channel and playlist videos feeds), :mod:`.social`
  (Bluesky, Mastodon), :mod:`.openreview`, :mod:`.pmlr`.

A new kind is one module with a connector class and one ``mount`` line.
"""

from mlradar._connectors.base import (
    Connector,
    FetchContext,
    FetchResult,
    InlineContext,
    ResolveContext,
    SourceRef,
    SourceSpec,
)
from mlradar._connectors.registry import Registry, default_registry

__all__ = [
    "Connector",
    "FetchContext",
    "FetchResult",
    "InlineContext",
    "Registry",
    "ResolveContext",
    "SourceRef",
    "SourceSpec",
    "default_registry",
]
