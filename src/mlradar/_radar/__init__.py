"""The Radar facade: one object that the CLI, the REST API and the web app all call.

It is assembled from one mixin per domain (sources and updates, search, ...), all
sharing :class:`RadarBase`'s storage and settings.
"""

from __future__ import annotations

from typing import Any

from mlradar._config import Settings, load_settings
from mlradar._radar._base import RadarBase
from mlradar._radar._catalog import CatalogMixin
from mlradar._radar._feeds import FeedsMixin
from mlradar._radar._library import LibraryMixin
from mlradar._radar._papers import PapersMixin
from mlradar._radar._recommend import RecommendMixin
from mlradar._radar._semantic import SemanticSearchMixin
from mlradar._storage import normalize_url, open_storage


class Radar(
    FeedsMixin,
    CatalogMixin,
    PapersMixin,
    RecommendMixin,
    SemanticSearchMixin,
    LibraryMixin,
    RadarBase,
):
    """A radar over one database.  Create it with :func:`make_radar`."""


def make_radar(database_url: str | None = None, **settings: Any) -> Radar:
    """Open the radar stored at ``database_url`` (created and migrated as needed).

    With no URL, the setting ``database_url`` is used: ``MLRADAR_DATABASE_URL``, the config
    file, else SQLite in the user's data directory.  Keyword arguments override settings,
    e.g. ``make_radar(url, allow_private_networks=True)``.
    """
    if database_url is not None:
        settings["database_url"] = database_url
    resolved: Settings = load_settings(**settings)
    # One spelling from here on: a plain path becomes a sqlite:/// URL for every part.
    resolved = resolved.model_copy(update={"database_url": normalize_url(resolved.database_url)})
    return Radar(open_storage(resolved.database_url), resolved)


__all__ = ["Radar", "make_radar"]
