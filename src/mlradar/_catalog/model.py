"""Internal records of the catalog package (the public ones live in :mod:`mlradar.types`;
:class:`~mlradar._model.CatalogRecord`, which storage writes, in :mod:`mlradar._model`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import get_args

from mlradar._catalog.topics import slugify
from mlradar._catalog.urls import match_key
from mlradar._model import BUILTIN_ORIGIN, CatalogRecord
from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogKind, Level

LEVELS: tuple[Level, ...] = get_args(Level)

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


def keyed(record: CatalogRecord) -> CatalogRecord:
    """``record`` ready to store: its slug a slug, and the match keys of its URL and
    aliases (under which storage finds the entry it is) filled in."""
    keys = {match_key(u): u for u in (record.url, *record.aliases)}
    return replace(record, slug=slugify(record.slug), keys=tuple(keys.items()))


__all__ = [
    "BUILTIN_ORIGIN",
    "LEVELS",
    "CatalogRecord",
    "ListedResource",
    "ParsedList",
    "keyed",
    "parse_level",
]
