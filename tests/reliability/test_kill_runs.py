"""benchmarks/kill_runs.py at a small count: SIGKILL ``arxiv import`` and ``update`` at
random moments, rerun to completion, and check integrity, exact counts and orphans.

The benchmark itself runs 50 + 50 kills per database, as a step of its own in ``.ci/run``
after the suite (docs/reliability.md has the figures); this keeps the mechanism checked
inside the suite, quickly, on both databases.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import require_shared_data

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "kill_runs.py"


def _kill_runs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kill_runs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill_runs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _postgres_or_skip() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(
        os.environ.get(
            "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
    )
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is not reachable under CI: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc.orig}")
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_killed_runs_lose_nothing_and_leave_no_process(kind: str) -> None:
    require_shared_data()
    if kind == "postgresql":
        _postgres_or_skip()
    kill_runs = _kill_runs()
    outcomes = kill_runs.run([kind], 3, papers=1500, feeds=10, seed=7)
    assert [o.command for o in outcomes] == ["arxiv import", "update"]
    for o in outcomes:
        assert o.ok, kill_runs.report(outcomes)
        assert o.kills == 3
        assert max(o.orphan_waits) < kill_runs.ORPHAN_LIMIT
        assert o.final[kill_runs.RANK_BEHIND] == 0
    imported, updated = outcomes
    assert imported.final["papers"] == imported.expected["papers"] == 1500
    # Each finished import was checked and replaced by a fresh database.
    assert imported.fresh_starts == imported.finished_first
    assert updated.final["items"] == updated.expected["items"] == 10 * (10 + updated.cycles)
