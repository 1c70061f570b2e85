"""Crash safety, measured: SIGKILL ``arxiv import`` and ``update`` at random moments.

    python benchmarks/kill_runs.py [--kills 50] [--db sqlite,postgresql] [--papers N]
                                   [--feeds 40] [--seed 1] [--only import|update]

For each database kind and each command:

* **import**: one uninterrupted ``mlradar arxiv import`` into a reference database gives
  the anchor (its wall time ``T`` and every table's row count).  Then ``--kills`` runs
  into a second database, each SIGKILLed at a moment drawn uniformly from ``[0, 1.1 T]``
  (a run that finishes first is counted as such, and the next one starts over: a
  finished import is idempotent); after every kill the database must open, pass
  ``PRAGMA integrity_check`` and the FTS5 ``integrity-check`` of both full-text tables
  (PostgreSQL: amcheck on every b-tree index when the extension is there, and no row
  without its search vector).  Then one run to completion, and every table must hold
  exactly the reference's row count: none lost, none duplicated.
* **update**: ``--feeds`` feeds on a loopback server (a parse pool is used: more than
  eight sources).  Before each run every feed gains one entry, and ``mlradar update
  --force`` is SIGKILLed at a random moment of ``[0, 1.1 T]`` (``T``: an uninterrupted
  update of the same feeds).  The same checks follow each kill; after a final run the
  items must be exactly feeds x entries, each title once.

After every kill no process of the run may survive: every process started for it carries
a marker in its environment, and ``/proc`` is scanned for that marker until none is left
(the figure reported is the longest wait; more than 10 s is a failure).

Prints a Markdown summary; exits 1 if any check failed.  ``--papers N`` imports only the
first N lines of the snapshot (the slow test uses a few thousand).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.feedserver, when run as a script

from tests.feedserver import FeedServer, serving  # noqa: E402

SNAPSHOT = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
PG_ADMIN = os.environ.get(
    "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: Longest a process of a killed run may outlive it before the run counts as leaking.
ORPHAN_LIMIT = 10.0
_MARKER = "MLRADAR_KILL_RUN"


@dataclass
class Outcome:
    """What one command's kill runs found on one database kind."""

    db: str
    command: str
    kills: int = 0
    finished_first: int = 0
    anchor_seconds: float = 0.0
    orphan_waits: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


# -- processes ---------------------------------------------------------------------------


def _marked(tag: str) -> list[int]:
    """Live processes whose environment carries ``tag`` (zombies are dead)."""
    needle = f"{_MARKER}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def _run_and_kill(cmd: list[str], env: dict[str, str], at: float | None) -> tuple[bool, float]:
    """Run ``cmd``; SIGKILL it ``at`` seconds in (None: let it finish).

    Returns (killed, seconds until no process of the run was left).  Raises RuntimeError
    when a run that was not killed fails, or when processes outlive the limit.
    """
    tag = uuid.uuid4().hex
    proc = subprocess.Popen(
        cmd,
        env={**env, _MARKER: tag},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed = False
    try:
        proc.wait(timeout=at)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        killed = True
    _, err = proc.communicate()
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"{cmd[3:]} exited {proc.returncode}: {err.decode()[-800:]}")
    began = time.monotonic()
    while left := _marked(tag):
        if time.monotonic() - began > ORPHAN_LIMIT:
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            raise RuntimeError(f"{len(left)} process(es) outlived the killed run: {left}")
        time.sleep(0.02)
    return killed, time.monotonic() - began


# -- databases ---------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, folder: Path, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / (name + '.sqlite')}"
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db = f"mlradar_kill_{name}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def _table_counts(conn: Any, tables: list[str]) -> dict[str, int]:
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def check(url: str) -> dict[str, int]:
    """Open the database as mlradar does, check its integrity, return its row counts.

    Raises RuntimeError on any problem.
    """
    from mlradar import make_radar

    with make_radar(url) as radar:
        radar.stats()
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            if verdict != [("ok",)]:
                raise RuntimeError(f"integrity_check: {verdict[:5]}")
            for fts in ("items_fts", "papers_fts"):
                try:
                    conn.execute(f"INSERT INTO {fts}({fts}) VALUES('integrity-check')")
                except sqlite3.DatabaseError as exc:
                    raise RuntimeError(f"{fts} integrity-check: {exc}") from exc
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                    "'%fts%' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return _table_counts(conn, sorted(tables))
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            for table in ("items", "papers"):
                missing = conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE search_vector IS NULL")
                ).scalar()
                if missing:
                    raise RuntimeError(f"{missing} {table} rows without a search vector")
            try:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
                conn.execute(
                    text(
                        "SELECT bt_index_check(c.oid) FROM pg_index i "
                        "JOIN pg_class c ON c.oid = i.indexrelid "
                        "JOIN pg_am am ON am.oid = c.relam "
                        "WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
                    )
                ).all()
            except Exception as exc:  # amcheck is optional: say so, do not fail on it
                if "amcheck" not in str(exc):
                    raise RuntimeError(f"amcheck: {exc}") from exc
        with engine.connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ]
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cur:
                counts = {}
                for t in sorted(tables):
                    cur.execute(f'SELECT count(*) FROM "{t}"')
                    row = cur.fetchone()
                    counts[t] = int(row[0]) if row else 0
            return counts
    finally:
        engine.dispose()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "MLRADAR_DATABASE_URL": url,
        "MLRADAR_ALLOW_PRIVATE_NETWORKS": "1",
        "MLRADAR_PARSE_WORKERS": "2",
        "MLRADAR_CONFIG": "/nonexistent/mlradar-kill-runs.toml",
    }


def _cli(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "mlradar", "--db", url, *args]


# -- the two commands --------------------------------------------------------------------


def _kill_cycles(
    outcome: Outcome,
    url: str,
    kills: int,
    rng: random.Random,
    command: Callable[[], list[str]],
    before: Callable[[int], None],
    progress: Callable[[str], None],
) -> None:
    env = _env(url)
    for i in range(kills):
        before(i)
        at = rng.uniform(0.0, 1.1 * outcome.anchor_seconds)
        try:
            killed, waited = _run_and_kill(command(), env, at)
            outcome.orphan_waits.append(waited)
            outcome.kills += killed
            outcome.finished_first += not killed
            check(url)
        except RuntimeError as exc:
            outcome.failures.append(f"kill {i} at {at:.2f} s: {exc}")
        failed = len(outcome.failures)
        progress(f"{outcome.db} {outcome.command}: {i + 1}/{kills} ({failed} failed)")


def import_kills(
    kind: str, folder: Path, kills: int, papers: int | None, rng: random.Random, progress: Any
) -> Outcome:
    outcome = Outcome(kind, "arxiv import")
    snapshot = SNAPSHOT
    if papers is not None:
        snapshot = folder / f"papers-{papers}.jsonl.gz"
        with gzip.open(SNAPSHOT, "rt") as src, gzip.open(snapshot, "wt") as dst:
            for n, line in enumerate(src):
                if n >= papers:
                    break
                dst.write(line)
    cmd = ["arxiv", "import", str(snapshot), "--quiet", "--json"]
    with database(kind, folder, "import_ref") as ref:
        began = time.monotonic()
        _run_and_kill(_cli(ref, *cmd), _env(ref), None)
        outcome.anchor_seconds = time.monotonic() - began
        outcome.expected = check(ref)
    with database(kind, folder, "import_kill") as url:
        check(url)  # created and migrated first: the kills are of imports, not of set-up
        _kill_cycles(outcome, url, kills, rng, lambda: _cli(url, *cmd), lambda i: None, progress)
        try:
            _run_and_kill(_cli(url, *cmd), _env(url), None)
            outcome.final = check(url)
        except RuntimeError as exc:
            outcome.failures.append(f"final run: {exc}")
    for table, count in outcome.expected.items():
        if outcome.final.get(table) != count and table != "state":
            outcome.failures.append(f"{table}: {outcome.final.get(table)} rows, want {count}")
    return outcome


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>F{n}</title>
<link>http://example.org/{n}</link>{items}</channel></rss>"""
ITEM = (
    "<item><title>F{n} entry {i}</title><guid>f{n}-{i}</guid>"
    "<link>http://example.org/{n}/{i}</link><description>entry {i} of feed {n}: "
    "gradient descent, diffusion and attention, {i} times</description></item>"
)


def _publish(server: FeedServer, feeds: int, entries: int) -> None:
    for n in range(feeds):
        items = "".join(ITEM.format(n=n, i=i) for i in range(entries))
        # Spread over a second or two, so that kills land in fetching, parsing and storing.
        server.add(f"/{n}.xml", RSS.format(n=n, items=items), delay=(n % 5) * 0.1)


def update_kills(
    kind: str, folder: Path, kills: int, feeds: int, rng: random.Random, progress: Any
) -> Outcome:
    from mlradar import make_radar

    outcome = Outcome(kind, "update")
    first = 10
    with serving() as server:
        # A killed client resets its connections: expected here, not worth a traceback.
        server._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        _publish(server, feeds, first)
        with database(kind, folder, "update_ref") as ref:
            with make_radar(ref, allow_private_networks=True) as radar:
                for n in range(feeds):
                    radar.add_source(server.url(f"/{n}.xml"), discover=False)
            began = time.monotonic()
            _run_and_kill(_cli(ref, "update", "--force", "--json"), _env(ref), None)
            outcome.anchor_seconds = time.monotonic() - began
        with database(kind, folder, "update_kill") as url:
            with make_radar(url, allow_private_networks=True) as radar:
                for n in range(feeds):
                    radar.add_source(server.url(f"/{n}.xml"), discover=False)

            def grow(i: int) -> None:
                _publish(server, feeds, first + i + 1)

            _kill_cycles(
                outcome,
                url,
                kills,
                rng,
                lambda: _cli(url, "update", "--force", "--json"),
                grow,
                progress,
            )
            entries = first + kills
            try:
                _run_and_kill(_cli(url, "update", "--force", "--json"), _env(url), None)
                outcome.final = check(url)
                with make_radar(url) as radar:
                    titles = [i.title for i in radar.items(limit=10 * feeds * entries)]
                    errors = [s.state.last_error for s in radar.sources() if s.state.last_error]
            except RuntimeError as exc:
                outcome.failures.append(f"final run: {exc}")
                titles, errors = [], []
    outcome.expected = {"items": feeds * entries, "distinct titles": feeds * entries}
    got = {"items": outcome.final.get("items", -1), "distinct titles": len(set(titles))}
    outcome.final = {**outcome.final, **got}
    if got != outcome.expected:
        outcome.failures.append(f"items {got}, want {outcome.expected}")
    if len(titles) != len(set(titles)):
        outcome.failures.append(f"{len(titles) - len(set(titles))} duplicated items")
    if errors:
        outcome.failures.append(f"sources left failing: {errors[:3]}")
    return outcome


# -- report ------------------------------------------------------------------------------


def report(outcomes: list[Outcome]) -> str:
    lines = [
        "| db | command | anchor run (s) | kills | finished before the kill | checks failed "
        "| orphan wait median / max (s) | final rows |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        waits = o.orphan_waits or [0.0]
        final = ", ".join(
            f"{k} {v:,}" for k, v in o.final.items() if k in ("papers", "items", "distinct titles")
        )
        lines.append(
            f"| {o.db} | {o.command} | {o.anchor_seconds:.1f} | {o.kills} | {o.finished_first} "
            f"| {len(o.failures)} | {statistics.median(waits):.2f} / {max(waits):.2f} | {final} |"
        )
    for o in outcomes:
        for failure in o.failures:
            lines.append(f"- FAILED {o.db} {o.command}: {failure}")
    return "\n".join(lines)


def run(
    kinds: list[str],
    kills: int,
    *,
    papers: int | None = None,
    feeds: int = 40,
    seed: int = 1,
    only: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Outcome]:
    rng = random.Random(seed)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="mlradar-kill-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            if only in (None, "import"):
                outcomes.append(import_kills(kind, folder, kills, papers, rng, progress))
            if only in (None, "update"):
                outcomes.append(update_kills(kind, folder, kills, feeds, rng, progress))
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--papers", type=int, default=None, help="first N snapshot lines")
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("import", "update"), default=None)
    parser.add_argument("--json", action="store_true", help="also print the raw outcomes")
    args = parser.parse_args()
    outcomes = run(
        args.db.split(","),
        args.kills,
        papers=args.papers,
        feeds=args.feeds,
        seed=args.seed,
        only=args.only,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(report(outcomes))
    if args.json:
        print(json.dumps([o.__dict__ for o in outcomes], indent=1))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
