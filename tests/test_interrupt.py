"""An update interrupted with Ctrl-C keeps what it finished; the next run completes it."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlradar import make_radar
from tests.feedserver import serving

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>F{n}</title>
<link>http://example.org/{n}</link>{items}</channel></rss>"""
ITEM = "<item><title>P{n}.{i}</title><guid>g{n}.{i}</guid><description>x</description></item>"


@pytest.mark.slow
def test_interrupted_update_resumes_without_duplicates(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'radar.sqlite'}"
    env = {**os.environ, "MLRADAR_ALLOW_PRIVATE_NETWORKS": "1", "MLRADAR_DATABASE_URL": db}
    with serving() as server:
        with make_radar(db, allow_private_networks=True) as radar:
            for n in range(30):
                items = "".join(ITEM.format(n=n, i=i) for i in range(5))
                # Slow enough that the run is still going when it is interrupted, on any load.
                url = server.add(f"/{n}.xml", RSS.format(n=n, items=items), delay=2.0)
                radar.add_source(url, discover=False)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlradar", "update"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # A bare count: opening a radar here would be slower than the run it watches.
            with contextlib.closing(sqlite3.connect(tmp_path / "radar.sqlite")) as conn:
                try:
                    stored = conn.execute("SELECT count(*) FROM items").fetchone()[0]
                except sqlite3.OperationalError:  # the table is being created
                    stored = 0
            if stored >= 20:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "interrupted" in err
        with make_radar(db) as radar:
            partial = radar.stats().items
        assert 0 < partial < 150

        rerun = subprocess.run(
            [sys.executable, "-m", "mlradar", "update"], env=env, capture_output=True, text=True
        )
        assert rerun.returncode == 0, rerun.stderr
    with make_radar(db) as radar:
        errors = [(s.url, s.state.last_error) for s in radar.sources() if s.state.last_error]
        assert radar.stats().items == 150, (errors, rerun.stdout[-2000:])
        titles = [i.title for i in radar.items(limit=1000)]
        assert len(titles) == len(set(titles)) == 150
