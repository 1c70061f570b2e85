"""``mlradar arxiv import``, ``mlradar paper`` and ``mlradar export bibtex`` end to end."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

from mlradar._arxiv.listing import entry_for
from mlradar._model import FetchState
from mlradar._radar import make_radar
from mlradar.cli import app, main


@pytest.fixture
def snapshot(shared_data: Path, tmp_path: Path) -> Path:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        lines = list(itertools.islice(f, 400))
    lines[3] = b'{"id": "2503.0\n'
    path = tmp_path / "snap.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    return path


def invoke(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_import_then_show_then_export(db_url: str, snapshot: Path, tmp_path: Path) -> None:
    code, out, err = invoke(db_url, "arxiv", "import", str(snapshot), "-c", "cs.LG,stat.ML")
    assert code == 0
    assert "skipped line 4: not valid JSON" in err
    assert "1 skipped lines" in out

    code, out, _ = invoke(db_url, "arxiv", "import", str(snapshot), "--json")
    summary = json.loads(out)
    assert summary["skipped"] == 1
    assert summary["new"] + summary["unchanged"] == 399

    code, out, _ = invoke(db_url, "paper", "arXiv:2503.12172v1", "--json")
    detail = json.loads(out)
    assert detail["arxiv_id"] == "2503.12172"
    assert detail["paper"]["title"] == "SEAL: Semantic Aware Image Watermarking"
    assert detail["paper"]["categories"][0] == "cs.LG"
    assert detail["items"] == []

    code, out, _ = invoke(db_url, "paper", "https://arxiv.org/pdf/2503.12172")
    assert "SEAL: Semantic Aware Image Watermarking" in out
    assert "https://arxiv.org/html/2503.12172" in out

    code, out, _ = invoke(db_url, "export", "bibtex", "2503.12172", "arxiv.org/abs/2503.11677")
    library = bibtexparser.parse_string(out)
    assert [e.key for e in library.entries] == ["arabi2025seal", "park2025simulation"]

    target = tmp_path / "refs.bib"
    code, _, err = invoke(db_url, "export", "bibtex", "--search", "watermarking", "-o", str(target))
    assert code == 0
    assert "wrote" in err
    assert "arabi2025seal" in target.read_text()


def test_export_by_tag_takes_tagged_papers_and_papers_of_tagged_items(
    db_url: str, snapshot: Path
) -> None:
    invoke(db_url, "arxiv", "import", str(snapshot))
    with make_radar(db_url) as radar:
        # A blog post that names 2503.11677 (any item naming a paper links to it).
        paper = radar.paper("2503.11677").paper
        assert paper is not None
        source = radar._storage.add_source(radar._user_id, "https://blog.example.org/feed", "feed")
        now = datetime.now(UTC)
        radar._storage.store_entries(
            source.id,
            [entry_for(paper, published_at=now)],
            FetchState(fetched_at=now, status=200, error=None, next_due_at=now),
        )
        (item,) = radar.paper("2503.11677").items
        radar.tag("reading", ["2503.12172", "arXiv:2503.11685v1", str(item.id)])
    code, out, _ = invoke(db_url, "export", "bibtex", "--tag", "reading")
    assert code == 0
    entries = bibtexparser.parse_string(out).entries
    assert sorted(f.value for e in entries for f in e.fields if f.key == "eprint") == [
        "2503.11677",
        "2503.11685",
        "2503.12172",
    ]


def test_errors_are_one_line_without_traceback(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once for real, as a user runs it.
    done = subprocess.run(
        [sys.executable, "-m", "mlradar", "--db", db_url, "paper", "2503.12172"],
        capture_output=True,
        text=True,
        timeout=600,  # a safety net on a loaded machine, not a measure
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: arXiv:2503.12172 is not known (import a snapshot, or fetch it from arXiv "
        "with --fetch)"
    )

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["mlradar", "--db", db_url, *args])
        with pytest.raises(SystemExit) as exited:
            main()
        return int(exited.value.code or 0), capsys.readouterr().err

    for args, message in [
        (("arxiv", "import", str(tmp_path / "nope.jsonl.gz")), "cannot read"),
        (("paper", "not-an-id"), "is not an arXiv id"),
        (("paper", "2503.12172"), "is not known"),
        (("export", "bibtex", "2503.12172"), "not stored"),
        (("export", "bibtex", "--tag", "nothing"), "no papers are tagged"),
        (("arxiv", "import", str(tmp_path), "-c", "cs.LG,deep learning"), "not an arXiv category"),
        (("arxiv", "harvest", "--from", "someday"), "YYYY-MM-DD"),
    ]:
        code, err = run(*args)
        assert code == 1, (args, err)
        assert message in err, (args, err)
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
