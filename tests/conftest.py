"""Shared fixtures.

Tests that read the real data in ``../shared/data`` use the ``shared_data`` fixture:
under CI (``CI=true``) a missing folder is a failure, elsewhere the test is skipped
with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
