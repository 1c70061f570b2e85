"""The facade: :class:`RadarCore`, one per process, and :class:`Radar`, one user's view.

The CLI, the REST API and the web app all call these.  A view is assembled from one mixin
per domain (sources and updates, papers, the library, recommendations, the semantic half
of search, the catalog), all working through the core's storage, settings and caches.
"""

from __future__ import annotations

from typing import Any

from mlradar._radar._accounts import AccountsMixin
from mlradar._radar._base import RadarBase
from mlradar._radar._catalog import CatalogMixin
from mlradar._radar._core import FetcherFactory, RadarCore
from mlradar._radar._enrich import EnrichMixin
from mlradar._radar._feeds import FeedsMixin
from mlradar._radar._feedsout import FeedsOutMixin
from mlradar._radar._library import LibraryMixin
from mlradar._radar._papers import PapersMixin
from mlradar._radar._recommend import RecommendMixin
from mlradar._radar._semantic import SemanticSearchMixin
from mlradar._radar._stories import StoriesMixin


class Radar(
    FeedsOutMixin,  # digests and Atom feeds out, over every part below
    FeedsMixin,
    CatalogMixin,
    PapersMixin,
    RecommendMixin,
    SemanticSearchMixin,
    LibraryMixin,
    StoriesMixin,
    AccountsMixin,
    EnrichMixin,
    RadarBase,
):
    """One user's radar.  Make one with :func:`make_radar`, or :meth:`RadarCore.for_user`."""


def make_radar(
    database_url: str | None = None,
    *,
    fetcher_factory: FetcherFactory | None = None,
    **settings: Any,
) -> Radar:
    """Open the radar stored at ``database_url`` (created and migrated as needed), as the
    default user (setting ``user``, ``default`` unless set; created on first use).

    With no URL, the setting ``database_url`` is used: ``MLRADAR_DATABASE_URL``, the config
    file, else SQLite in the user's data directory.  Keyword arguments override settings,
    e.g. ``make_radar(url, allow_private_networks=True)``.  Closing the radar closes its
    core.  A process serving several users opens one :class:`RadarCore` instead.
    """
    core = RadarCore.open(database_url, fetcher_factory=fetcher_factory, **settings)
    try:
        user = core.ensure_user(core.settings.user)
    except BaseException:
        core.close()
        raise
    radar = core.for_user(user)
    radar._owns_core = True
    return radar


__all__ = ["FetcherFactory", "Radar", "RadarCore", "make_radar"]
