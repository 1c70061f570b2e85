"""Shared fixtures.

Tests that read the real data in ``../shared/data`` use the ``shared_data`` fixture:
under CI (``CI=true``) a missing folder is a failure, elsewhere the test is skipped
with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
# The shared data sits beside the checkout; a git worktree is one level deeper.
SHARED_DATA = next(
    (p / "shared" / "data" for p in _ROOT.parents if (p / "shared" / "data").is_dir()),
    _ROOT.parent / "shared" / "data",
)


def require_shared_data() -> Path:
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    message = f"the real data folder {SHARED_DATA} is missing"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (it must be present under CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'radar.sqlite'}"


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own config file or database."""
    monkeypatch.setenv("MLRADAR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("MLRADAR_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def _postgres_admin_url() -> str:
    return os.environ.get(
        "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each supported kind: the storage suite runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'radar.sqlite'}"
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"mlradar_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is not reachable under CI: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc.orig}")
    url = _postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from mlradar._storage._engine import make_engine

        make_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
