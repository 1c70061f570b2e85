"""The built-in catalog: ``data/catalog.toml``, read and checked."""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, cast

from mlradar._catalog.kinds import KINDS
from mlradar._catalog.model import BUILTIN_ORIGIN, LEVELS, CatalogRecord, keyed
from mlradar._catalog.topics import slugify
from mlradar._catalog.urls import match_key
from mlradar._identity.urls import canonicalize_url
from mlradar.exceptions import InvalidInputError
from mlradar.types import CatalogKind, Level

_REQUIRED = ("slug", "name", "url", "kind", "level", "topics", "description")
_KNOWN = frozenset((*_REQUIRED, "feed", "aliases", "retired"))


def _data() -> bytes:
    return resources.files("mlradar._catalog").joinpath("data/catalog.toml").read_bytes()


def catalog_version() -> str:
    """A fingerprint of the data file: the stored copy is refreshed when it changes."""
    return hashlib.sha256(_data()).hexdigest()[:16]


def _entry(raw: dict[str, Any], position: int) -> CatalogRecord:
    where = f"built-in catalog entry {position} ({raw.get('slug', '?')})"
    missing = [k for k in _REQUIRED if k not in raw]
    unknown = sorted(set(raw) - _KNOWN)
    if missing or unknown:
        raise InvalidInputError(f"{where}: missing {missing}, unknown {unknown}")
    if raw["kind"] not in KINDS:
        raise InvalidInputError(f"{where}: unknown kind {raw['kind']!r}")
    if raw["level"] not in LEVELS:
        raise InvalidInputError(f"{where}: unknown level {raw['level']!r}")
    topics = tuple(str(t) for t in raw["topics"])
    bad = [t for t in topics if slugify(t) != t]
    if bad or not topics:
        raise InvalidInputError(f"{where}: topics must be non-empty slugs, got {bad or topics}")
    if slugify(raw["slug"]) != raw["slug"]:
        raise InvalidInputError(f"{where}: slug must be lowercase words joined by hyphens")
    feed = raw.get("feed")
    return keyed(
        CatalogRecord(
            slug=str(raw["slug"]),
            name=str(raw["name"]),
            url=canonicalize_url(str(raw["url"])),
            kind=cast(CatalogKind, raw["kind"]),
            topics=topics,
            level=cast(Level, raw["level"]),
            description=str(raw["description"]),
            feed_url=canonicalize_url(str(feed)) if feed else None,
            aliases=tuple(canonicalize_url(str(a)) for a in raw.get("aliases", ())),
            retired=str(raw["retired"]) if raw.get("retired") else None,
            position=position,
            builtin=True,
            origin=BUILTIN_ORIGIN,
        )
    )


@lru_cache(maxsize=1)
def builtin_entries() -> tuple[CatalogRecord, ...]:
    """Every built-in entry, in file order; raises if the file breaks its own rules."""
    data = tomllib.loads(_data().decode("utf-8"))
    entries = tuple(_entry(raw, i) for i, raw in enumerate(data.get("entry", ())))
    slugs: set[str] = set()
    keys: dict[str, str] = {}
    for e in entries:
        if e.slug in slugs:
            raise InvalidInputError(f"built-in catalog: slug {e.slug!r} is used twice")
        slugs.add(e.slug)
        for url in (e.url, *e.aliases):
            key = match_key(url)
            if keys.setdefault(key, e.slug) != e.slug:
                raise InvalidInputError(
                    f"built-in catalog: {url} names both {keys[key]!r} and {e.slug!r}"
                )
    return entries
