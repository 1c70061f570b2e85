"""Start-up stays light: the command line imports no numerical library until a command
ranks.  (numpy, scipy and scikit-learn cost seconds on a busy machine; torch more.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("numpy", "scipy", "sklearn", "torch", "sentence_transformers")

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded_after(body: str, tmp_path: Path) -> list[str]:
    code = PROBE.format(body=body, heavy=HEAVY)
    env = {"MLRADAR_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_imports_no_numerical_library(tmp_path: Path) -> None:
    assert loaded_after("import mlradar.cli", tmp_path) == []


def test_stats_and_items_import_no_numerical_library(tmp_path: Path) -> None:
    db = tmp_path / "radar.sqlite"
    for command in (["stats", "--json"], ["items", "-n", "3"]):
        body = f"""
from typer.testing import CliRunner
from mlradar.cli import app
result = CliRunner().invoke(app, ["--db", {str(db)!r}, *{command!r}])
assert result.exit_code == 0, result.output
"""
        assert loaded_after(body, tmp_path) == [], command


#: What reading stored data needs none of: the migrator (a database already at the head is
#: checked with one query), SQLAlchemy (`stats` and `items` are answered by the light reads
#: of `mlradar._storage._lite`), the HTTP client, the feed and XML parsers.
NOT_FOR_READING = ("alembic", "sqlalchemy", "httpx", "feedparser", "lxml", "markdown_it")


def test_reading_commands_import_no_fetching_or_migrating_machinery(tmp_path: Path) -> None:
    db = tmp_path / "radar.sqlite"
    subprocess.run(
        [sys.executable, "-m", "mlradar", "--db", str(db), "stats"],
        capture_output=True,
        env={"MLRADAR_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path), "PATH": ""},
        check=True,
    )  # creates and migrates the database first
    body = f"""
from typer.testing import CliRunner
from mlradar.cli import app
for command in (["stats", "--json"], ["items", "-n", "3"]):
    result = CliRunner().invoke(app, ["--db", {str(db)!r}, *command])
    assert result.exit_code == 0, result.output
"""
    code = PROBE.format(body=body, heavy=NOT_FOR_READING)
    env = {"MLRADAR_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_sqlite_radar_imports_no_postgresql_dialect(tmp_path: Path) -> None:
    """Dialect options in the schema (``postgresql_where=``) load that dialect on import;
    a SQLite radar's commands must not pay for PostgreSQL's.  (Migrating does: Alembic
    loads every dialect's support, so the database is made first.)"""
    db = tmp_path / "radar.sqlite"
    env = {"MLRADAR_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path), "PATH": ""}
    subprocess.run([sys.executable, "-m", "mlradar", "--db", str(db), "stats"], env=env, check=True)
    body = f"""
from mlradar import make_radar
radar = make_radar({str(db)!r})
radar.add_source("https://example.org/feed.xml", discover=False)
"""
    code = PROBE.format(body=body, heavy=("sqlalchemy.dialects.postgresql", "psycopg"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
