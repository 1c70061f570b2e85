"""What every storage part shares: the engine, transactions, the clock, JSON helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from mlradar._storage import schema as s
from mlradar._storage._engine import cause
from mlradar.exceptions import NotFoundError, StorageError, UserExistsError
from mlradar.types import User


def utcnow() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_tuple(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


#: Bound parameters per multi-row statement in SQLite: below its limit of 32,766.
_SQLITE_PARAMS_PER_STATEMENT = 16_000


def sqlite_insert_returning(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (each with the same columns) as multi-row ``INSERT ... VALUES`` bound
    by the driver, returning the ``returning`` columns of every row, in no given order
    (nothing when none are named).

    SQLAlchemy sends one statement per row when it must return ids in parameter order on
    SQLite, and processes each parameter set in Python: most of what storing a feed's
    items cost the writer.  Values are converted by the columns' own bind processors, so
    they are stored exactly as SQLAlchemy would store them.  Callers return a column that
    tells the rows apart (a unique key), since SQLite does not order RETURNING rows.
    """
    if not rows:
        return []
    names = list(rows[0])
    # dialect_impl: the type as this dialect stores it (a bare DateTime has no processor;
    # SQLite's renders the text SQLAlchemy stores).
    dialect = conn.dialect
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    per_statement = max(1, min(500, _SQLITE_PARAMS_PER_STATEMENT // len(names)))
    one = "(" + ",".join("?" * len(names)) + ")"
    head = f"INSERT INTO {table.name} ({','.join(names)}) VALUES "
    tail = f" RETURNING {','.join(returning)}" if returning else ""
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        params: list[Any] = []
        for row in part:
            for name, proc in zip(names, processors, strict=True):
                value = row[name]
                params.append(value if proc is None else proc(value))
        result = conn.exec_driver_sql(head + ",".join([one] * len(part)) + tail, tuple(params))
        if returning:
            out += [tuple(r) for r in result.all()]
    return out


def insert_plain_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows of values that need no conversion (integers, text) through the driver's
    executemany: SQLAlchemy's processing of each parameter set costs more than the insert
    when an item brings several such rows (keys, memberships, references)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class StorageBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except OperationalError as exc:
            raise StorageError(f"database error: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            # The cause only: SQLAlchemy's text carries the statement and its parameters.
            raise StorageError(f"database error: {cause(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {cause(exc)}") from exc

    # -- users: every per-user table keys on users.id -------------------------------------

    def add_user(self, name: str) -> User:
        """Create a user; UserExistsError when the name is taken."""
        try:
            with self.begin() as conn:
                now = utcnow()
                result = conn.execute(insert(s.users).values(name=name, created_at=now))
                user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        except IntegrityError:
            raise UserExistsError(f"a user named {name!r} exists already") from None
        return User(user_id, name, now)

    def ensure_user(self, name: str) -> User:
        """The user named ``name``, created if there is none."""
        found = self.find_user(name)
        if found is not None:
            return found
        try:
            return self.add_user(name)
        except UserExistsError:  # created meanwhile by another process
            found = self.find_user(name)
            assert found is not None
            return found

    def find_user(self, name: str) -> User | None:
        with self.read() as conn:
            row = conn.execute(select(s.users).where(s.users.c.name == name)).first()
        return None if row is None else User(int(row.id), str(row.name), row.created_at)

    def user_id(self, name: str) -> int:
        """The id of the user named ``name``; NotFoundError when there is none."""
        found = self.find_user(name)
        if found is None:
            raise NotFoundError(f"no user named {name!r} (create one with `mlradar user add`)")
        return found.id

    def list_users(self) -> list[User]:
        with self.read() as conn:
            rows = conn.execute(select(s.users).order_by(s.users.c.id)).all()
        return [User(int(r.id), str(r.name), r.created_at) for r in rows]

    def remove_user(self, user_id: int) -> None:
        """Delete a user and everything that is theirs (sources nobody else follows too)."""
        subs = s.subscriptions
        with self.begin() as conn:
            mine = select(subs.c.source_id).where(subs.c.user_id == user_id)
            others = select(subs.c.source_id).where(subs.c.user_id != user_id)
            conn.execute(
                delete(s.sources).where(s.sources.c.id.in_(mine), s.sources.c.id.not_in(others))
            )
            conn.execute(delete(s.users).where(s.users.c.id == user_id))

    # -- per-user state --------------------------------------------------------------------------

    def get_user_state(self, user_id: int, key: str) -> str | None:
        t = s.user_state
        with self.read() as conn:
            row = conn.execute(
                select(t.c.value).where(t.c.user_id == user_id, t.c.key == key)
            ).first()
        return None if row is None else str(row.value)

    def set_user_state(self, user_id: int, key: str, value: str | None) -> None:
        t = s.user_state
        with self.begin() as conn:
            conn.execute(delete(t).where(t.c.user_id == user_id, t.c.key == key))
            if value is not None:
                conn.execute(insert(t).values(user_id=user_id, key=key, value=value))

    # -- global key/value state ----------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self.read() as conn:
            row = conn.execute(select(s.state.c.value).where(s.state.c.key == key)).first()
        return None if row is None else str(row.value)

    def set_state(self, key: str, value: str | None, conn: Connection | None = None) -> None:
        if conn is None:
            with self.begin() as c:
                self.set_state(key, value, c)
            return
        conn.execute(s.state.delete().where(s.state.c.key == key))
        if value is not None:
            conn.execute(insert(s.state).values(key=key, value=value, updated_at=utcnow()))
