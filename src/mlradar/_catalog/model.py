"""Internal records of the catalog package (the public ones live in :mod:`mlradar.types`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogKind, Level

LEVELS: tuple[Level, ...] = get_args(Level)
#: The origin of the entries that come with mlradar (others name the list they came from).
BUILTIN_ORIGIN = "builtin"

# The issue speaks of beginners, grad students and researchers; these are the same levels.
_LEVEL_ALIASES: dict[str, Level] = {
    "beginner": "beginner",
    "beginners": "beginner",
    "novice": "beginner",
    "intermediate": "intermediate",
    "grad": "intermediate",
    "graduate": "intermediate",
    "grad-student": "intermediate",
    "advanced": "advanced",
    "researcher": "advanced",
    "researchers": "advanced",
    "research": "advanced",
}


def parse_level(text: str) -> Level:
    """A level from what a user types (``grad`` and ``researcher`` are accepted)."""
    key = text.strip().lower().replace(" ", "-")
    level = _LEVEL_ALIASES.get(key)
    if level is None:
        raise InvalidInputError(
            f"unknown level {text!r}: use beginner, intermediate (grad) or advanced (researcher)"
        )
    return level


@dataclass(frozen=True, slots=True)
class ListedResource:
    """One resource found in a reading list, before it is stored."""

    url: str
    name: str
    kind: CatalogKind
    heading_path: tuple[str, ...]
    topics: tuple[str, ...]
    description: str | None = None
    feed_url: str | None = None
    level: Level | None = None


@dataclass(frozen=True, slots=True)
class ParsedList:
    """A reading list as read from Markdown."""

    title: str | None
    resources: tuple[ListedResource, ...]


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """An entry as the storage writes it: one of the built-in catalog, or an imported one.

    ``slug`` is the wanted id (an imported entry's name; storage makes it unique);
    ``position`` the curated order of built-in entries.
    """

    url: str
    slug: str
    name: str
    kind: CatalogKind
    topics: tuple[str, ...]
    level: Level | None
    description: str | None
    feed_url: str | None
    builtin: bool
    origin: str
    heading_path: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    retired: str | None = None
    position: int | None = None
