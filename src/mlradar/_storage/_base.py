"""What every storage part shares: the engine, transactions, the clock, JSON helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from mlradar._storage import schema as s
from mlradar.exceptions import StorageError


def utcnow() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_tuple(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


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
            raise StorageError(f"database error: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    # -- users: every per-user table keys on users.id -------------------------------------

    def user_id(self, name: str) -> int:
        with self.begin() as conn:
            return self._user_id(conn, name)

    def _user_id(self, conn: Connection, name: str) -> int:
        row = conn.execute(select(s.users.c.id).where(s.users.c.name == name)).first()
        if row is not None:
            return int(row.id)
        result = conn.execute(insert(s.users).values(name=name, created_at=utcnow()))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

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
