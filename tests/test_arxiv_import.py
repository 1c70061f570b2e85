"""Bulk snapshot import: streaming, filtering, corrupt lines, idempotence and resumption.

The kill-and-resume test runs a real ``mlradar arxiv import`` of the real snapshot in a
subprocess, kills it with SIGKILL mid-import, runs it again and checks the exact record set.
"""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from mlradar._arxiv import importer
from mlradar._arxiv.importer import checkpoint_key
from mlradar._radar import Radar, make_radar
from mlradar.exceptions import InvalidInputError
from mlradar.types import ImportProgress


@pytest.fixture
def radar(db_url: str) -> Iterator[Radar]:
    with make_radar(db_url) as r:
        yield r


def snapshot_lines(shared_data: Path, n: int | None = None) -> list[bytes]:
    with gzip.open(shared_data / "arxiv" / "papers.jsonl.gz", "rb") as f:
        return list(itertools.islice(f, n))


def stored_ids(radar: Radar) -> list[str]:
    with radar._storage.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT arxiv_id FROM papers ORDER BY arxiv_id"))]


def write(path: Path, lines: list[bytes], *, gz: bool = False) -> Path:
    data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_import_counts_corrupt_lines_and_is_idempotent(
    shared_data: Path, tmp_path: Path, radar: Radar
) -> None:
    lines = snapshot_lines(shared_data, 300)
    lines[10] = b'{"id": "2503.99999", "title": "cut off'
    lines[20] = b"\x00\x01 binary junk"
    lines[30] = b'{"id": "not an id", "title": "x"}'
    lines.insert(40, b"   ")  # blank: neither a paper nor a problem
    path = write(tmp_path / "snap.jsonl.gz", lines, gz=True)
    problems: list[tuple[int, str]] = []
    progress: list[ImportProgress] = []

    summary = radar.import_arxiv_snapshot(
        path, on_problem=lambda n, p: problems.append((n, p)), progress=progress.append
    )
    assert (summary.new, summary.updated, summary.unchanged) == (297, 0, 0)
    assert summary.skipped == 3
    assert summary.lines == 301
    assert [n for n, _ in problems] == [11, 21, 31]
    assert summary.problems[0].startswith("line 11: not valid JSON")
    assert "not an arXiv id" in summary.problems[2]
    assert progress
    assert progress[-1].bytes_done == progress[-1].bytes_total == path.stat().st_size
    assert len(stored_ids(radar)) == 297

    again = radar.import_arxiv_snapshot(path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 297)
    assert len(stored_ids(radar)) == 297


def test_rerun_after_a_kill_in_the_index_sync_brings_the_index_up_to_date(
    shared_data: Path, tmp_path: Path, radar: Radar
) -> None:
    # benchmarks/kill_runs.py found it: a SIGKILL after the last batch committed, while
    # the ranking index was being synced, left every paper stored and the index short of
    # them; the rerun had nothing new to write, so it never synced.  ``index=False`` leaves
    # the same state without a kill.
    path = write(tmp_path / "snap.jsonl", snapshot_lines(shared_data, 40))
    radar.import_arxiv_snapshot(path, index=False)
    assert radar.rank_index_behind()

    again = radar.import_arxiv_snapshot(path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 40)
    assert not radar.rank_index_behind()


def test_reimport_updates_changed_records_and_search_sees_them(
    shared_data: Path, tmp_path: Path, radar: Radar
) -> None:
    lines = snapshot_lines(shared_data, 50)
    path = write(tmp_path / "snap.jsonl", lines)
    radar.import_arxiv_snapshot(path)
    record = orjson.loads(lines[7])
    record["title"] = "Quokkas Considered Harmful"
    record["journal-ref"] = "J. Marsupial Studies 1 (2026)"
    lines[7] = orjson.dumps(record)
    write(path, lines)

    summary = radar.import_arxiv_snapshot(path)
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 49)
    paper = radar.paper(record["id"]).paper
    assert paper is not None
    assert paper.title == "Quokkas Considered Harmful"
    assert paper.journal_ref == "J. Marsupial Studies 1 (2026)"
    # The full-text index followed the update (triggers), and holds no stale copy.
    hits = radar.search("quokkas")
    assert [h.ref for h in hits] == [record["id"]]
    assert len(stored_ids(radar)) == 50


def test_category_filter(shared_data: Path, tmp_path: Path, radar: Radar) -> None:
    lines = snapshot_lines(shared_data, 1000)
    path = write(tmp_path / "snap.jsonl", lines)
    records = [orjson.loads(line) for line in lines]
    wanted = {"cs.LG", "cs.CL", "stat.ML"}
    expected = {r["id"] for r in records if wanted & set(r["categories"].split())}
    assert 0 < len(expected) < 1000
    summary = radar.import_arxiv_snapshot(path, categories="cs.LG,cs.CL,stat.ML")
    assert set(stored_ids(radar)) == expected
    assert summary.filtered == 1000 - len(expected)
    with pytest.raises(InvalidInputError, match="not an arXiv category"):
        radar.import_arxiv_snapshot(path, categories="deep learning")


def test_daily_listings_collapse_to_one_paper_each(shared_data: Path, radar: Radar) -> None:
    folder = shared_data / "arxiv" / "daily-listing"
    ids: list[str] = []
    for day in sorted(folder.glob("*.jsonl")):
        ids += [orjson.loads(line)["id"] for line in day.read_bytes().splitlines() if line]
        radar.import_arxiv_snapshot(day)
    assert len(ids) > len(set(ids))  # the listings do repeat papers
    assert stored_ids(radar) == sorted(set(ids))


def test_not_a_snapshot(tmp_path: Path, radar: Radar) -> None:
    junk = write(tmp_path / "notes.txt", [b"just some text"] * 1500)
    with pytest.raises(InvalidInputError, match="not an arXiv metadata snapshot"):
        radar.import_arxiv_snapshot(junk)
    with pytest.raises(InvalidInputError, match="cannot read"):
        radar.import_arxiv_snapshot(tmp_path / "missing.jsonl.gz")
    with pytest.raises(InvalidInputError, match="is not a file"):
        radar.import_arxiv_snapshot(tmp_path)


def test_a_truncated_gzip_keeps_what_was_committed(
    shared_data: Path, tmp_path: Path, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    lines = snapshot_lines(shared_data, 2000)
    data = gzip.compress(b"".join(lines))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputError, match="cannot decompress after line"):
        radar.import_arxiv_snapshot(path)
    kept = len(stored_ids(radar))
    assert kept >= 100
    assert radar._storage.get_state(checkpoint_key(path.resolve())) is not None


def test_an_interrupted_import_resumes_after_its_last_batch(
    shared_data: Path, tmp_path: Path, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    lines = snapshot_lines(shared_data, 1000)
    lines[450] = b"{broken"
    path = write(tmp_path / "snap.jsonl.gz", lines, gz=True)
    seen: list[ImportProgress] = []

    def stop_after_three_batches(p: ImportProgress) -> None:
        seen.append(p)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        radar.import_arxiv_snapshot(path, progress=stop_after_three_batches)
    assert len(stored_ids(radar)) == 300

    summary = radar.import_arxiv_snapshot(path)
    assert summary.resumed_at_line == 300
    # Totals cover both runs; nothing was added twice.
    assert (summary.new, summary.updated, summary.unchanged) == (999, 0, 0)
    assert summary.skipped == 1
    assert summary.problems == (summary.problems[0],)
    assert summary.problems[0].startswith("line 451:")
    assert len(stored_ids(radar)) == 999
    # A finished import forgets its checkpoint: the next one reads the whole file again.
    assert radar._storage.get_state(checkpoint_key(path.resolve())) is None
    assert radar.import_arxiv_snapshot(path).resumed_at_line == 0


def test_a_changed_file_is_not_resumed(
    shared_data: Path, tmp_path: Path, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 100)
    lines = snapshot_lines(shared_data, 400)
    path = write(tmp_path / "snap.jsonl", lines)

    def stop(p: ImportProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        radar.import_arxiv_snapshot(path, progress=stop)
    write(path, lines[:350])  # a different file under the same name
    summary = radar.import_arxiv_snapshot(path)
    assert summary.resumed_at_line == 0
    assert (summary.new, summary.unchanged) == (250, 100)


def test_the_parser_process_gives_the_same_result(
    shared_data: Path, tmp_path: Path, radar: Radar
) -> None:
    lines = snapshot_lines(shared_data, 3000)
    lines[5] = b"{oops"
    path = write(tmp_path / "snap.jsonl.gz", lines, gz=True)
    summary = radar.import_arxiv_snapshot(path, parallel=True)
    assert (summary.new, summary.skipped) == (2999, 1)
    assert summary.problems[0].startswith("line 6:")
    assert len(stored_ids(radar)) == 2999


def test_the_parser_process_reports_a_broken_file(tmp_path: Path, radar: Radar) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": "2501.00001", "title": "t"}\n' * 5000)[:500])
    with pytest.raises(InvalidInputError, match="cannot decompress"):
        radar.import_arxiv_snapshot(path, parallel=True)


# -- the real snapshot, killed and resumed for real ------------------------------------------

_IMPORT_SCRIPT = """
import sys
from mlradar.cli import main
sys.argv = ["mlradar", "--db", sys.argv[1], "arxiv", "import", sys.argv[2], "--json"]
main()
"""


def _processes_naming(needle: str) -> list[int]:
    """Pids whose command line contains ``needle`` (Linux /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _count(db_url: str) -> int:
    with make_radar(db_url) as r:
        return r._storage.count_papers()


@pytest.mark.slow
def test_kill_and_resume_the_real_snapshot(shared_data: Path, tmp_path: Path) -> None:
    snapshot = shared_data / "arxiv" / "papers.jsonl.gz"
    db = tmp_path / "radar.sqlite"
    db_url = f"sqlite:///{db}"
    make_radar(db_url).close()  # migrate first, so progress can be watched
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", _IMPORT_SCRIPT, str(db), str(snapshot)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the import ended before it could be killed: {proc.stderr.read()!r}")
            if _count(db_url) >= 10_000:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the import made no progress in 120 s")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    killed_at = _count(db_url)
    assert 10_000 <= killed_at < 74_728
    # The parser process forked by the import must not outlive it.
    deadline = time.monotonic() + 15
    while _processes_naming(str(db)) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = _processes_naming(str(db))
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "the parser process was orphaned"

    done = subprocess.run(cmd, env=env, capture_output=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr.decode()
    summary = orjson.loads(done.stdout)
    assert summary["resumed_at_line"] > 0
    assert summary["resumed_at_line"] <= killed_at
    assert summary["skipped"] == 0
    assert summary["new"] + summary["unchanged"] + summary["updated"] == 74_728

    expected = sorted({orjson.loads(line)["id"] for line in snapshot_lines(shared_data)})
    with make_radar(db_url) as radar:
        assert stored_ids(radar) == expected
        # The full-text index matches the table exactly (FTS5 raises if it does not).
        with radar._storage.begin() as conn:
            conn.execute(text("INSERT INTO papers_fts(papers_fts) VALUES('integrity-check')"))
        assert radar.search('"prosthetic vision"')[0].ref == "2503.11677"
