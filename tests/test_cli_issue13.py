"""The command line as a new user meets it (issue 13): one date syntax, partial exports,
leading-dash queries, typed-back ids, consistent messages."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

from mlradar.cli import app
from mlradar.cli._common import parse_day, parse_since
from mlradar.exceptions import InvalidInputError


@pytest.fixture
def snapshot(shared_data: Path, tmp_path: Path) -> Path:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        lines = list(itertools.islice(f, 300))
    path = tmp_path / "snap.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    return path


def invoke(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- one date syntax -------------------------------------------------------------------------


def test_every_date_form_parses_to_the_same_kind_of_moment() -> None:
    now = datetime.now(UTC)
    week = parse_since("7d")
    assert week is not None and abs((now - week) - timedelta(days=7)) < timedelta(minutes=1)
    assert parse_day("2w", "--since") == (now - timedelta(weeks=2)).date()
    assert parse_day("today", "--since") == now.date()
    assert parse_day("yesterday", "--until") == (now - timedelta(days=1)).date()
    assert parse_day("2025-06-01", "--since") == date(2025, 6, 1)
    with pytest.raises(InvalidInputError, match="--until: not a date: 'soon'"):
        parse_day("soon", "--until")


def test_recommend_takes_the_same_since_as_search(db_url: str, snapshot: Path) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    invoke(db_url, "tag", "add", "diffusion", "2503.11677")
    for since in ("7d", "2w", "today", "2025-03-01"):
        code, out, err = invoke(db_url, "recommend", "--tag", "diffusion", "--since", since)
        assert code == 0, (since, out, err)
    code, _, err = invoke(db_url, "recommend", "--since", "soon")
    assert code == 1
    assert "not a date" in err


# -- export bibtex ---------------------------------------------------------------------------


def test_bibtex_exports_what_it_has_and_warns_about_the_rest(
    db_url: str, snapshot: Path, tmp_path: Path
) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    invoke(db_url, "tag", "add", "diffusion", "2503.11677", "2401.00001")
    code, out, err = invoke(db_url, "export", "bibtex", "--tag", "diffusion")
    assert code == 0, err
    assert [e.key for e in bibtexparser.parse_string(out).entries] == ["park2025simulation"]
    assert "1 paper is not stored and left out: 2401.00001" in err
    target = tmp_path / "d.bib"
    code, _, err = invoke(db_url, "export", "bibtex", "--tag", "diffusion", "-o", str(target))
    assert code == 0
    assert "wrote 1 entry to" in err
    assert "1 papers" not in err
    code, out, err = invoke(db_url, "export", "bibtex", "2401.00001", "2401.00002")
    assert code == 1
    assert out == ""
    assert "nothing to export: 2 papers are not stored" in err
