"""The record the ranking index is fed: one paper's or item's text, day and authors.

It lives in a module of its own, free of imports, because both sides use it: the storage
layer reads these rows from the database and the ranking index featurizes them.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple


class TextRow(NamedTuple):
    """What the ranking index reads of one paper or item.

    A tuple (older callers and tests pass plain 4-tuples: :func:`as_text_row` turns
    them into rows without authors).
    """

    id: int
    """The database id."""
    title: str
    body: str
    """A paper's abstract, an item's plain text (its opening)."""
    day: date | None
    """The listing (or publication) day."""
    authors: tuple[str, ...] = ()
    """Names as stored: a paper's author list, an item's one author (or none)."""


def as_text_row(row: tuple[object, ...]) -> TextRow:
    """A :class:`TextRow` from itself or from a plain ``(id, title, body, day[, authors])``."""
    if isinstance(row, TextRow):
        return row
    return TextRow(*row)  # type: ignore[arg-type]


__all__ = ["TextRow", "as_text_row"]
