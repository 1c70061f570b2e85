"""Storage: the only package that speaks SQL.

:class:`Storage` is one class over SQLAlchemy Core for both SQLite (the embedded
default) and PostgreSQL; what differs between them is confined to ``_dialects``.
It is assembled from one part per domain so that each file reads in one sitting.

Importing this package imports no SQLAlchemy: :class:`Storage` and :func:`open_storage`
load it on first use, so that a short command answered by the light reads of
:mod:`~mlradar._storage._lite` never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlradar._storage._head import normalize_url

if TYPE_CHECKING:
    from mlradar._storage._store import Storage, open_storage

__all__ = ["Storage", "normalize_url", "open_storage"]


def __getattr__(name: str) -> Any:
    if name in ("Storage", "open_storage"):
        from mlradar._storage import _store

        return getattr(_store, name)
    raise AttributeError(f"module 'mlradar._storage' has no attribute {name!r}")
