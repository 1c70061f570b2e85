"""The registry of source kinds: connectors are mounted, and found by kind or by input.

Like reader's ``mount_retriever`` and datasette's default plug-ins: the built-in kinds are
mounted the same way a third-party one is (:func:`default_registry`), and a package can
add its own through the ``mlradar.connectors`` entry-point group (each entry point is a
callable taking the settings and returning a connector).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping

from mlradar._config import Settings
from mlradar._connectors.base import Connector, SourceSpec
from mlradar._fetch import HostPolicy
from mlradar.exceptions import InvalidInputError, RadarError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mlradar.connectors"


class Registry:
    """Connectors by kind, in the order their specs are tried."""

    def __init__(self) -> None:
        self._connectors: dict[str, Connector] = {}
        self._fallbacks: list[str] = []

    def mount(self, connector: Connector, *, fallback: bool = False) -> None:
        """Add a source kind.  A ``fallback`` connector is offered input only after every
        other one declined it (the plain feed connector takes any http(s) URL)."""
        if connector.kind in self._connectors:
            raise RadarError(f"a connector for {connector.kind!r} sources is already mounted")
        self._connectors[connector.kind] = connector
        if fallback:
            self._fallbacks.append(connector.kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._connectors

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._connectors.values())

    def get(self, kind: str) -> Connector:
        try:
            return self._connectors[kind]
        except KeyError:
            raise RadarError(
                f"no connector for sources of kind {kind!r} (a plug-in that is not installed?)"
            ) from None

    def _in_order(self) -> list[Connector]:
        first = [c for k, c in self._connectors.items() if k not in self._fallbacks]
        return first + [self._connectors[k] for k in self._fallbacks]

    def parse(self, text: str) -> tuple[Connector, SourceSpec]:
        """The connector that takes ``text``, and the spec it makes of it."""
        text = text.strip()
        if not text:
            raise InvalidInputError("give a feed URL, a web page, or a source such as arxiv:cs.LG")
        for connector in self._in_order():
            try:
                spec = connector.parse_spec(text)
            except RadarError:
                raise
            except ValueError as exc:
                # urllib raises ValueError on input such as "[" (an unclosed IPv6 host);
                # the text is then malformed for every connector, not just this one.
                raise InvalidInputError(f"{text!r} is not a well-formed source: {exc}") from exc
            except Exception as exc:
                # A plug-in's bug is an error on this input, not a crash of the caller.
                raise RadarError(
                    f"the {connector.kind} connector failed to read {text!r}: {exc!r}"
                ) from exc
            if spec is not None:
                return connector, spec
        raise InvalidInputError(
            f"{text!r} is not a source mlradar can follow: give an http(s) URL or one of "
            # A connector may show how its input looks (``example``); else ``kind:``.
            + ", ".join(
                sorted(getattr(c, "example", c.kind + ":") for c in self if c.kind != "feed")
            )
        )

    def policies(self, settings: Settings, kinds: Iterable[str]) -> dict[str, HostPolicy]:
        """The host policies of the connectors of ``kinds``."""
        out: dict[str, HostPolicy] = {}
        for kind in set(kinds):
            if kind in self._connectors:
                out.update(self._connectors[kind].policies(settings))
        return out

    def labels(self) -> Mapping[str, str]:
        return {c.kind: c.label for c in self}


def default_registry(settings: Settings, *, plugins: bool = True) -> Registry:
    """The built-in connectors, then those that installed packages provide."""
    from mlradar._connectors.arxiv import ArxivConnector
    from mlradar._connectors.feed import FeedConnector
    from mlradar._connectors.hackernews import HackerNewsConnector
    from mlradar._connectors.reddit import RedditConnector
    from mlradar._connectors.youtube import YouTubeConnector

    registry = Registry()
    registry.mount(ArxivConnector(settings))
    registry.mount(HackerNewsConnector(settings))
    registry.mount(RedditConnector(settings))
    registry.mount(YouTubeConnector(settings))
    from mlradar._connectors.social import BlueskyConnector, MastodonConnector

    registry.mount(BlueskyConnector(settings))
    registry.mount(MastodonConnector(settings))
    from mlradar._connectors.openreview import OpenReviewConnector

    registry.mount(OpenReviewConnector(settings))
    from mlradar._connectors.pmlr import PmlrConnector

    registry.mount(PmlrConnector(settings))
    if plugins:
        _mount_plugins(registry, settings)
    registry.mount(FeedConnector(), fallback=True)
    return registry


def _mount_plugins(registry: Registry, settings: Settings) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            registry.mount(ep.load()(settings))
        except Exception as exc:  # a broken plug-in must not stop mlradar
            log.warning("connector plug-in %s could not be mounted: %s", ep.name, exc)
