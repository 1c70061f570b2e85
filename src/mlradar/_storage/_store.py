"""The full storage: every part, over SQLAlchemy Core (see the package's docstring)."""

from __future__ import annotations

from mlradar._storage._accounts import AccountsStorage
from mlradar._storage._bulk import BulkStorage
from mlradar._storage._catalog import CatalogStorage
from mlradar._storage._digests import DigestsStorage
from mlradar._storage._engine import make_engine, migrate
from mlradar._storage._enrich import EnrichStorage
from mlradar._storage._items import ItemsStorage
from mlradar._storage._library import LibraryStorage
from mlradar._storage._locks import LocksStorage
from mlradar._storage._papers import PapersStorage
from mlradar._storage._sources import SourcesStorage
from mlradar._storage._stories import StoriesStorage


class Storage(
    DigestsStorage,  # first: it builds on ItemsStorage's item queries
    SourcesStorage,
    ItemsStorage,
    CatalogStorage,
    PapersStorage,
    BulkStorage,
    LibraryStorage,
    LocksStorage,
    StoriesStorage,
    AccountsStorage,
    EnrichStorage,
):
    """All persistent state of one radar."""


def open_storage(url: str) -> Storage:
    """Open (creating and migrating as needed) the database at ``url``."""
    engine = make_engine(url)
    migrate(engine)
    return Storage(engine)


__all__ = ["Storage", "open_storage"]
