"""Opening a database: URL resolution, connection pragmas, and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from mlradar._storage._head import MIGRATIONS, head_revision, normalize_url
from mlradar.exceptions import SchemaError, StorageError

if TYPE_CHECKING:
    from alembic.config import Config


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
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


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
