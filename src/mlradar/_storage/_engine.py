"""Opening a database: URL resolution, connection pragmas, and migrations."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from mlradar.exceptions import SchemaError, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.MULTILINE)


def normalize_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` URLs; pick the drivers we ship with."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web app read while an update writes; NORMAL is durable enough under WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _refuse_empty_file(path: Path) -> None:
    """A 0-byte file is no database: taking it for a new one would hide a lost file (a
    disk that filled up, a copy cut short) under a fresh empty radar."""
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError:
        return  # unreadable: SQLite will say why
    if empty and not Path(f"{path}-wal").exists():
        raise StorageError(
            f"{path} is an empty file (0 bytes), not a database: restore it from a backup, "
            "or delete it to start a new radar"
        )


def cause(exc: SQLAlchemyError) -> str:
    """What went wrong, in one line, without the SQL statement or SQLAlchemy's help link."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig) if orig is not None else str(exc).split("\n", 1)[0]
    text_ = text_.split("[SQL:", 1)[0]
    return " ".join(text_.split()) or exc.__class__.__name__


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            path = Path(db).expanduser()
            _refuse_empty_file(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise StorageError(
        f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
    )


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision, read from the migration files themselves: the one no other
    revises.  None when there is not exactly one (Alembic then decides).

    Importing Alembic costs a command about half a second; a database already at the
    head needs none of it, only this and one query.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision"):
                revised.add(found["down_revision"])
    heads = revisions - revised
    return next(iter(heads)) if len(heads) == 1 else None


def current_revision(conn: Connection) -> str | None:
    """The database's schema revision (None: a database mlradar never migrated)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; one query when it already is."""
    try:
        with engine.connect() as conn:
            if (head := head_revision()) is not None and current_revision(conn) == head:
                return
        _upgrade(engine)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"cannot open the database {where}: {cause(exc)}") from exc


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current == script.get_current_head():
            return
        known = {s.revision for s in script.walk_revisions()}
        if current is not None and current not in known:
            raise SchemaError(
                f"the database is at schema revision {current}, which this version of "
                "mlradar does not know; upgrade mlradar"
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
