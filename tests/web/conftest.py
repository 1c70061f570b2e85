"""One filled radar per test session, copied for each test (building it takes seconds:
papers, feeds fetched from loopback, the ranking index)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, serving
from tests.web.support import Harness, build, harness


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    with serving() as server:
        yield server


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory, feed_server: FeedServer) -> Path:
    folder = tmp_path_factory.mktemp("web-template")
    mp = pytest.MonkeyPatch()
    # The session fixture runs outside the per-test config isolation: do it here too.
    mp.setenv("MLRADAR_CONFIG", str(folder / "no-config.toml"))
    mp.delenv("MLRADAR_DATABASE_URL", raising=False)
    try:
        build(f"sqlite:///{folder / 'radar.sqlite'}", feed_server)
    finally:
        mp.undo()
    return folder


@pytest.fixture
def web_db(tmp_path: Path, web_template: Path) -> str:
    target = tmp_path / "radar"
    shutil.copytree(web_template, target)
    return f"sqlite:///{target / 'radar.sqlite'}"


@pytest.fixture
def web(web_db: str, feed_server: FeedServer) -> Iterator[Harness]:
    with harness(web_db, feed_server) as h:
        yield h
