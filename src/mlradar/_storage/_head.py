"""What opening a database needs to know before SQLAlchemy is imported: how a URL is
spelled, and which schema revision is the newest.

Importing SQLAlchemy costs a short command about 0.2 s; the light read path
(:mod:`mlradar._storage._lite`) and the facade decide with these alone whether they need it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.MULTILINE)


def normalize_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` URLs; pick the drivers we ship with."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL or plain path, as SQLAlchemy reads it (its options, after
    ``?``, aside); None for an in-memory database or another kind of database."""
    url = normalize_url(url)
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            path = url.removeprefix(prefix).split("?", 1)[0]
            return None if path in ("", ":memory:") else Path(path)
    return None


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision, read from the migration files themselves: the one no other
    revises.  None when there is not exactly one (Alembic then decides).

    Importing Alembic costs a command about half a second; a database already at the
    head needs none of it, only this and one query.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision"):
                revised.add(found["down_revision"])
    heads = revisions - revised
    return next(iter(heads)) if len(heads) == 1 else None
