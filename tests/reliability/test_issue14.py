"""Issue 14, items 1-6: each fixed at the mechanism; each test here failed before the fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar import make_radar
from mlradar._radar import Radar
from mlradar._update.schedule import utcnow
from mlradar.cli import app
from mlradar.exceptions import StorageError
from tests.feedserver import FeedServer, serving
from tests.reliability.support import ITEM, RSS, job_radar, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as s:
        yield s


@pytest.fixture
def radar(db_url: str) -> Iterator[Radar]:
    r = make_radar(db_url, allow_private_networks=True, total_timeout=5.0, connect_timeout=2.0)
    yield r
    r.close()


# -- 1. a dead parse worker costs one source ----------------------------------------------


def test_a_dead_parse_worker_costs_its_own_source_only(db_url: str, tmp_path: Path) -> None:
    with job_radar(db_url, tmp_path) as radar:
        ok = [radar.add_source(f"job:ok{i}") for i in range(8)]
        # A worker killed once in mid-parse (the OOM killer's pick): the pool is rebuilt,
        # and every job of the broken pool, that one included, is stored on its retry.
        once = radar.add_source("job:die-once")
        first = radar.update()
        assert first.failed == 0, [s.error for s in first.sources if s.error]
        assert first.new == 2 * 9
        # A feed that kills its worker every time is named, in words, and only it fails.
        always = radar.add_source("job:die")
        summary = radar.update(force=True)
        errors = {s.source_id: s.error for s in summary.sources}
        assert "the parser crashed" in (errors[always.id] or "")
        assert radar.source(always.id).state.consecutive_errors == 1
        for s in [*ok, once]:
            assert errors[s.id] is None, (s.url, errors[s.id])
            assert radar.source(s.id).item_count == 2
        assert summary.failed == 1


# -- 2. workers die with their parent -------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _poll(condition: object, seconds: float) -> bool:
    # A safety-net timeout only: the condition is what is checked.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_parse_workers_die_with_the_update(tmp_path: Path, sig: signal.Signals) -> None:
    db = f"sqlite:///{tmp_path / 'radar.sqlite'}"
    env = {
        **os.environ,
        "MLRADAR_ALLOW_PRIVATE_NETWORKS": "1",
        "MLRADAR_DATABASE_URL": db,
        "MLRADAR_PARSE_WORKERS": "2",
    }
    with serving() as server:
        with make_radar(db, allow_private_networks=True) as radar:
            for n in range(12):
                # The first ones answer at once (the pool starts), the rest keep it running.
                url = server.add(f"/{n}.xml", rss(f"F{n}"), delay=0.0 if n < 2 else 30.0)
                radar.add_source(url, discover=False)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlradar", "update"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Workers and multiprocessing's resource tracker are the update's children.
            assert _poll(lambda: len(_children(proc.pid)) >= 3, 60), _children(proc.pid)
            children = _children(proc.pid)
            proc.send_signal(sig)
            proc.wait(timeout=30)
            assert _poll(lambda: not any(_alive(c) for c in children), 10), [
                c for c in children if _alive(c)
            ]
        finally:
            proc.kill()


# -- 3. a host's pause defers its other sources ---------------------------------------------


def test_a_host_pause_defers_the_sources_never_requested(db_url: str, server: FeedServer) -> None:
    with make_radar(db_url, allow_private_networks=True, max_connections_per_host=1) as radar:
        busy = radar.add_source(
            server.add("/busy.xml", b"slow down", status=429, headers={"Retry-After": "3600"}),
            discover=False,
        )
        neighbours = [
            radar.add_source(server.add(f"/n{i}.xml", rss(f"N{i}")), discover=False)
            for i in range(5)
        ]
        other = radar.add_source(
            server.add("/other.xml", rss("other")).replace("127.0.0.1", "localhost"),
            discover=False,
        )
        before = utcnow()
        summary = radar.update()
        rows = {s.source_id: s for s in summary.sources}
        assert "429" in (rows[busy.id].error or "")
        assert radar.source(busy.id).state.consecutive_errors == 1
        assert rows[other.id].new == 2 and rows[other.id].error is None
        for n in neighbours:
            row, state = rows[n.id], radar.source(n.id).state
            assert row.error is None and row.deferred and not row.failed
            assert "deferred" in (row.warning or "") and "3600 s" in (row.warning or "")
            assert state.consecutive_errors == 0 and state.last_error is None
            assert state.last_fetched_at is None and state.last_status is None
            assert "deferred" in (state.last_warning or "")
            # Due again as soon as the pause is over, not backed off.
            assert state.next_due_at is not None
            due = state.next_due_at - before
            assert timedelta(seconds=3500) < due < timedelta(seconds=3700)
            assert server.seen("/" + n.url.split("/", 3)[3]) == []  # never requested
        assert (summary.failed, summary.deferred) == (1, 5)


# -- 4. invalid UTF-8 ------------------------------------------------------------------------


def test_invalid_utf8_replaces_the_bad_bytes_only(radar: Radar, server: FeedServer) -> None:
    good = ITEM.format(title="café crème", n=1, body="naïve")
    bad = ITEM.format(title="broken \udcff here", n=2, body="x")
    body = RSS.format(title="Déjà", items=good + bad).encode("utf-8", "surrogateescape")
    assert b"\xff" in body
    source = radar.add_source(
        server.add("/bad.xml", body, content_type="application/rss+xml; charset=utf-8"),
        discover=False,
    )
    summary = radar.update()
    assert summary.failed == 0
    titles = sorted(i.title or "" for i in radar.items(source=source.id))
    assert titles == ["broken \ufffd here", "café crème"]
    state = radar.source(source.id).state
    assert "1 invalid utf-8 byte sequence replaced" in (state.last_warning or "")


def test_invalid_utf8_without_a_declared_charset(radar: Radar, server: FeedServer) -> None:
    body = (
        RSS.replace(' encoding="utf-8"', "")
        .format(title="t", items=ITEM.format(title="résumé \udc80", n=1, body="ü"))
        .encode("utf-8", "surrogateescape")
    )
    source = radar.add_source(server.add("/bad.xml", body, content_type="text/xml"), discover=False)
    radar.update()
    (item,) = radar.items(source=source.id)
    assert item.title == "résumé \ufffd"
    assert "invalid" in (radar.source(source.id).state.last_warning or "")


# -- 5. caps are visible -----------------------------------------------------------------------


def _big_rss(n: int) -> bytes:
    items = "".join(f"<item><title>P{i}</title><guid>g{i}</guid></item>" for i in range(n))
    return RSS.format(title="big", items=items).encode()


def _big_json(n: int) -> bytes:
    items = [{"id": str(i), "title": f"P{i}", "content_text": "x"} for i in range(n)]
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "big", "items": items}
    return json.dumps(doc).encode()


def test_truncation_is_a_warning_on_the_source_the_list_and_the_summary(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    from mlradar.cli import _common

    # Wide enough that no table cell wraps the words checked below.
    monkeypatch.setattr(_common.console, "width", 1000)
    db = str(tmp_path / "radar.sqlite")
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(app, ["--db", db, *args])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    rss_url = server.add("/6k.xml", _big_rss(6000))
    json_url = server.add("/100k.json", _big_json(100_000), content_type="application/feed+json")
    huge_url = server.add("/100k.xml", _big_rss(100_000))
    for url in (rss_url, json_url, huge_url):
        cli("sources", "add", url, "--no-discover")
    out = cli("update")
    assert "6,000 entries; only the first 5,000 were stored" in out
    assert "100,000 entries; only the first 5,000 were stored" in out
    assert "too big to read safely (about 100,000 entries" in out
    assert "2 with warnings" in out and "1 failed" in out
    listing = cli("sources", "list")
    assert listing.count("warning:") == 2
    with make_radar(db) as radar:
        for s in radar.sources():
            if s.url == huge_url:
                assert s.item_count == 0 and "too big" in (s.state.last_error or "")
            else:
                assert s.item_count == 5000
                assert "dropped" in (s.state.last_warning or "")


# -- 6. smaller ------------------------------------------------------------------------------


def test_a_parse_failure_keeps_the_status_the_server_sent(radar: Radar, server: FeedServer) -> None:
    page = server.add("/page", "<html><body>hi</body></html>", content_type="text/html")
    source = radar.add_source(page, discover=False)
    summary = radar.update()
    assert "HTML page" in (summary.sources[0].error or "")
    assert radar.source(source.id).state.last_status == 200


def test_an_empty_database_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "radar.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StorageError, match=r"empty file \(0 bytes\), not a database"):
        make_radar(str(path))
    assert path.stat().st_size == 0  # left as it was


def test_a_corrupt_database_error_holds_the_cause_not_the_sql(tmp_path: Path) -> None:
    path = tmp_path / "radar.sqlite"
    path.write_bytes(b"this is no database " * 500)
    with pytest.raises(StorageError) as info:
        make_radar(str(path))
    message = str(info.value)
    assert "file is not a database" in message
    assert "SQL" not in message and "SELECT" not in message and "\n" not in message
