"""Helpers for tests that talk to storage directly."""

from __future__ import annotations

from mlradar._storage import Storage


def me(storage: Storage) -> int:
    """The id of the default user (created on first use, as the CLI does)."""
    return storage.ensure_user("default").id
