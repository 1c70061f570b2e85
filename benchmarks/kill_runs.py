"""Crash safety, measured: SIGKILL ``arxiv import`` and ``update`` at random moments.

    python benchmarks/kill_runs.py [--kills 50] [--db sqlite,postgresql] [--papers N]
                                   [--feeds 40] [--seed 1] [--only import|update]
                                   [--concurrent]

For each database kind and each command:

* **import**: one uninterrupted ``mlradar arxiv import`` into a reference database gives
  the anchor (its wall time ``T`` and every table's row count).  Then ``--kills`` runs
  into a second database, each SIGKILLed at a moment drawn uniformly from ``[0, 1.1 T]``
  (a run that finishes first is counted as such, must hold exactly the reference's rows,
  and the next one starts over in a fresh database: rerunning a finished import writes
  almost nothing, so kills of it would test little; runs go on until ``--kills`` kills
  have landed); after every run the database must open, pass
  ``PRAGMA integrity_check`` and the FTS5 ``integrity-check`` of both full-text tables
  (PostgreSQL: amcheck on every b-tree index when the extension is there, and no row
  without its search vector).  Then one run to completion, and every table must hold
  exactly the reference's row count: none lost, none duplicated; and the ranking index
  must not be behind the database.
* **update**: ``--feeds`` feeds on a loopback server (a parse pool is used: more than
  eight sources).  Before each run every feed gains one entry, and ``mlradar update
  --force`` is SIGKILLed at a random moment of ``[0, 1.1 T]`` (``T``: an uninterrupted
  update of the same feeds).  The same checks follow each kill; after a final run the
  items must be exactly feeds x entries, each title once (so after every finished run),
  and the ranking index must have caught up.

After every kill no process of the run may survive: every process started for it carries
a marker in its environment, and ``/proc`` is scanned for that marker until none is left
(the figure reported is the longest wait; more than 10 s is a failure).

``--only worker`` asks another question: one parse *worker* of a running update (50
feeds) is SIGKILLed, and the update must still finish normally with every source stored.

Prints a Markdown summary; exits 1 if any check failed.  ``--papers N`` imports only the
first N lines of the snapshot (the slow test uses a few thousand; at 8,000 an import is
four batches and the parser runs in its own process, as at full size).  ``--concurrent``
runs each database kind in its own process at once (CI does, after the test suite).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import shutil
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
# shared_data, also when the test suite loads this file by path
sys.path.insert(0, str(ROOT / "benchmarks"))

from shared_data import DATA  # noqa: E402  (beside this script)
from tests.feedserver import FeedServer, serving  # noqa: E402

SNAPSHOT = DATA / "arxiv" / "papers.jsonl.gz"
PG_ADMIN = os.environ.get(
    "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: Longest a process of a killed run may outlive it before the run counts as leaking.
ORPHAN_LIMIT = 10.0
_MARKER = "MLRADAR_KILL_RUN"
#: The pseudo-count ``check`` adds: 1 if the ranking index is behind the database.
RANK_BEHIND = "rank index behind"
#: Pseudo-counts compared with the reference's like tables: the full-text index of the
#: papers (SQLite: rows it holds; PostgreSQL: search indexes present), and bulk loads whose
#: index is still deferred (0 once a run has finished).
PAPERS_INDEXED = "papers full-text indexed"
#: SQLite: the items the FTS5 index holds (an update run defers them to batches).
ITEMS_INDEXED = "items full-text indexed"
DEFERRED = "deferred full-text loads"
_DEFERRED = "%.deferred"


@dataclass
class Outcome:
    """What one command's kill runs found on one database kind."""

    db: str
    command: str
    kills: int = 0
    finished_first: int = 0
    cycles: int = 0
    anchor_seconds: float = 0.0
    orphan_waits: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    #: Kills after which the main table (papers, items) held more rows than before the
    #: run: the killed run had committed work, it was not killed in start-up.
    mid_work: int = 0
    #: Import: times the kill database was replaced by a fresh one after a finished run.
    fresh_starts: int = 0
    #: Where the wall time went: the command's runs (killed, finished, anchor, final),
    #: the checks, the /proc scans, and all of it (set-up included).
    run_seconds: float = 0.0
    check_seconds: float = 0.0
    scan_seconds: float = 0.0
    wall_seconds: float = 0.0

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


def _run_and_kill(
    cmd: list[str], env: dict[str, str], at: float | None
) -> tuple[bool, float, float]:
    """Run ``cmd``; SIGKILL it ``at`` seconds in (None: let it finish).

    Returns (killed, seconds the run lasted, seconds until no process of the run was
    left).  Raises RuntimeError when a run that was not killed fails, or when processes
    outlive the limit.
    """
    tag = uuid.uuid4().hex
    started = time.monotonic()
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
    lasted = began - started
    while left := _marked(tag):
        if time.monotonic() - began > ORPHAN_LIMIT:
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            raise RuntimeError(f"{len(left)} process(es) outlived the killed run: {left}")
        time.sleep(0.02)
    return killed, lasted, time.monotonic() - began


# -- databases ---------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, folder: Path, name: str) -> Iterator[str]:
    """A throwaway database of ``kind``, removed afterwards."""
    from mlradar._radar._index import rank_dir_for

    if kind == "sqlite":
        path = folder / (name + ".sqlite")
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            # Its ranking index lives beside it: a fresh database of the same name must
            # not find the old one's.
            shutil.rmtree(rank_dir_for(f"sqlite:///{path}"), ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    # The ranking index of a PostgreSQL database is in the user cache, which run() points
    # into the temporary folder.
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
        # Not a table: whether the ranking index lacks rows the database holds (a run
        # killed in its sync leaves it so; the next finished run must catch up).
        behind = {RANK_BEHIND: int(radar.rank_index_behind())}
    return {**_checked_counts(url), **behind}


def _checked_counts(url: str) -> dict[str, int]:
    """Integrity checks of the database itself, then its tables' row counts."""
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
            return {**_table_counts(conn, sorted(tables)), **_sqlite_index_counts(conn)}
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
                # A bulk load's search indexes, dropped for it, must be back after it.
                cur.execute(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = 'papers' "
                    "AND indexname IN ('ix_papers_search_vector', 'ix_papers_search_rum')"
                )
                row = cur.fetchone()
                counts[PAPERS_INDEXED] = int(row[0]) if row else 0
                cur.execute(f"SELECT count(*) FROM state WHERE key LIKE '{_DEFERRED}'")
                row = cur.fetchone()
                counts[DEFERRED] = int(row[0]) if row else 0
            return counts
    finally:
        engine.dispose()


def _sqlite_index_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Pseudo-counts: the papers and items the FTS5 indexes hold (a bulk load or an update
    run leaves them short until it ends), and the loads still deferred."""
    indexed = conn.execute("SELECT count(*) FROM papers_fts_docsize").fetchone()[0]
    items = conn.execute("SELECT count(*) FROM items_fts_docsize").fetchone()[0]
    deferred = conn.execute(f"SELECT count(*) FROM state WHERE key LIKE '{_DEFERRED}'")
    return {
        PAPERS_INDEXED: int(indexed),
        ITEMS_INDEXED: int(items),
        DEFERRED: int(deferred.fetchone()[0]),
    }


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


def _run(outcome: Outcome, cmd: list[str], env: dict[str, str], at: float | None) -> bool:
    """``_run_and_kill``, with its time and its orphan wait booked on ``outcome``."""
    killed, lasted, waited = _run_and_kill(cmd, env, at)
    outcome.run_seconds += lasted
    outcome.scan_seconds += waited
    outcome.orphan_waits.append(waited)
    return killed


def _check(outcome: Outcome, url: str) -> dict[str, int]:
    """``check``, with its time booked on ``outcome``."""
    began = time.monotonic()
    try:
        return check(url)
    finally:
        outcome.check_seconds += time.monotonic() - began


def _kill_cycles(
    outcome: Outcome,
    url: Callable[[], str],
    kills: int,
    rng: random.Random,
    command: Callable[[str], list[str]],
    before: Callable[[int], None],
    finished: Callable[[int, dict[str, int]], bool],
    table: str,
    progress: Callable[[str], None],
) -> None:
    """Run ``command`` until ``kills`` runs were SIGKILLed, checking after each run.

    ``before(i)`` prepares run ``i``; ``finished(i, counts)`` is told of a run that ended
    before its moment (it raises RuntimeError if the counts are wrong, and returns True if
    it replaced the database by a fresh one).  ``table`` is the table whose growth shows
    that a killed run had committed work.
    """
    rows = 0
    # A run after a kill resumes and often finishes before its random moment: cycles go on
    # until ``kills`` kills have landed (at most three times as many cycles).
    i = 0
    while outcome.kills < kills and i < 3 * kills:
        before(i)
        outcome.cycles = i + 1
        at = rng.uniform(0.0, 1.1 * outcome.anchor_seconds)
        try:
            killed = _run(outcome, command(url()), _env(url()), at)
            outcome.kills += killed
            outcome.finished_first += not killed
            counts = _check(outcome, url())
            outcome.mid_work += killed and counts.get(table, 0) > rows
            rows = counts.get(table, 0)
            if not killed and finished(i, counts):
                rows = 0
        except RuntimeError as exc:
            outcome.failures.append(f"run {i} (moment {at:.2f} s): {exc}")
        failed = len(outcome.failures)
        progress(f"{outcome.db} {outcome.command}: {outcome.kills}/{kills} kills ({failed} failed)")
        i += 1
    if outcome.kills < kills:
        outcome.failures.append(f"only {outcome.kills} of {kills} kills landed in {i} runs")


def _snapshot(folder: Path, papers: int | None) -> Path:
    """The snapshot, or a file of its first ``papers`` lines."""
    if papers is None:
        return SNAPSHOT
    snapshot = folder / f"papers-{papers}.jsonl.gz"
    if not snapshot.exists():
        with gzip.open(SNAPSHOT, "rt") as src, gzip.open(snapshot, "wt") as dst:
            for n, line in enumerate(src):
                if n >= papers:
                    break
                dst.write(line)
    return snapshot


def _differences(got: dict[str, int], want: dict[str, int]) -> list[str]:
    """Tables whose row count is not the reference's (``state`` holds checkpoints)."""
    return [
        f"{table}: {got.get(table)} rows, want {count}"
        for table, count in want.items()
        if got.get(table) != count and table != "state"
    ]


def import_kills(
    kind: str, folder: Path, kills: int, papers: int | None, rng: random.Random, progress: Any
) -> Outcome:
    outcome = Outcome(kind, "arxiv import")
    began = time.monotonic()
    snapshot = _snapshot(folder, papers)
    cmd = ["arxiv", "import", str(snapshot), "--quiet", "--json"]
    with database(kind, folder, "import_ref") as ref:
        started = time.monotonic()
        _run(outcome, _cli(ref, *cmd), _env(ref), None)
        outcome.anchor_seconds = time.monotonic() - started
        outcome.expected = _check(outcome, ref)
    with contextlib.ExitStack() as stack:
        current: list[str] = []

        def fresh() -> None:
            # Created and migrated first: the kills are of imports, not of set-up.
            if current:
                stack.close()
            current[:] = [stack.enter_context(database(kind, folder, "import_kill"))]
            _check(outcome, current[0])

        def finished(i: int, counts: dict[str, int]) -> bool:
            # A finished import must hold exactly the reference's rows.  Then start over in
            # an empty database: rerunning a finished import only re-reads unchanged papers
            # (a quarter of the time, almost nothing written), so kills of it would test
            # little; every kill should land in an import that writes.
            if problems := _differences(counts, outcome.expected):
                raise RuntimeError(f"after a finished run: {'; '.join(problems)}")
            fresh()
            outcome.fresh_starts += 1
            return True

        fresh()
        _kill_cycles(
            outcome,
            lambda: current[0],
            kills,
            rng,
            lambda url: _cli(url, *cmd),
            lambda i: None,
            finished,
            "papers",
            progress,
        )
        try:
            _run(outcome, _cli(current[0], *cmd), _env(current[0]), None)
            outcome.final = _check(outcome, current[0])
        except RuntimeError as exc:
            outcome.failures.append(f"final run: {exc}")
    outcome.failures.extend(_differences(outcome.final, outcome.expected))
    outcome.wall_seconds = time.monotonic() - began
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
    began = time.monotonic()
    first = 10
    cmd = ["update", "--force", "--json"]
    with serving() as server:
        # A killed client resets its connections: expected here, not worth a traceback.
        server._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        _publish(server, feeds, first)
        with database(kind, folder, "update_ref") as ref:
            with make_radar(ref, allow_private_networks=True) as radar:
                for n in range(feeds):
                    radar.add_source(server.url(f"/{n}.xml"), discover=False)
            started = time.monotonic()
            _run(outcome, _cli(ref, *cmd), _env(ref), None)
            outcome.anchor_seconds = time.monotonic() - started
        with database(kind, folder, "update_kill") as url:
            with make_radar(url, allow_private_networks=True) as radar:
                for n in range(feeds):
                    radar.add_source(server.url(f"/{n}.xml"), discover=False)

            def grow(i: int) -> None:
                _publish(server, feeds, first + i + 1)

            def finished(i: int, counts: dict[str, int]) -> bool:
                # A finished update has stored every entry published so far.
                want = feeds * (first + i + 1)
                if counts.get("items") != want or counts.get(RANK_BEHIND):
                    got = counts.get("items"), counts.get(RANK_BEHIND)
                    raise RuntimeError(
                        f"after a finished run: (items, rank index behind) {got}, want {want}, 0"
                    )
                return False

            _kill_cycles(
                outcome,
                lambda: url,
                kills,
                rng,
                lambda url: _cli(url, *cmd),
                grow,
                finished,
                "items",
                progress,
            )
            entries = first + outcome.cycles
            try:
                _run(outcome, _cli(url, *cmd), _env(url), None)
                outcome.final = _check(outcome, url)
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
    if outcome.final.get(RANK_BEHIND, 1):
        outcome.failures.append("the ranking index is behind the database after the final run")
    outcome.wall_seconds = time.monotonic() - began
    return outcome


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        found.append((int(entry.name), cmdline))
    return found


def worker_kills(
    kind: str, folder: Path, trials: int, feeds: int, rng: random.Random, progress: Any
) -> Outcome:
    """SIGKILL one parse worker of a running ``update`` (not the update itself): the run
    must finish normally, with every source stored (the job that was in the killed worker
    reruns alone)."""
    from mlradar import make_radar

    outcome = Outcome(kind, "update, one parse worker killed")
    with serving() as server:
        server._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        for i in range(trials):
            _publish(server, feeds, 10 + i)
            with database(kind, folder, f"worker_{i}") as url:
                with make_radar(url, allow_private_networks=True) as radar:
                    for n in range(feeds):
                        radar.add_source(server.url(f"/{n}.xml"), discover=False)
                proc = subprocess.Popen(
                    _cli(url, "update", "--json"),
                    env=_env(url),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                began = time.monotonic()
                victim = None
                # Wait for the pool, then pick a worker after a random short while.
                delay = rng.uniform(0.0, 1.0)
                while proc.poll() is None and time.monotonic() - began < 120:
                    workers = [p for p, cmd in _children(proc.pid) if "spawn_main" in cmd]
                    if workers and victim is None:
                        time.sleep(delay)
                        victim = rng.choice(workers)
                        with contextlib.suppress(OSError):
                            os.kill(victim, signal.SIGKILL)
                        outcome.kills += 1
                        break
                    time.sleep(0.01)
                _, err = proc.communicate(timeout=300)
                if victim is None:
                    outcome.finished_first += 1
                if proc.returncode != 0:
                    outcome.failures.append(f"trial {i}: exit {proc.returncode}: {err[-400:]!r}")
                    continue
                with make_radar(url) as radar:
                    sources = radar.sources()
                    failed = [s.state.last_error for s in sources if s.state.last_error]
                    stored = sum(s.item_count for s in sources)
                outcome.final["items"] = outcome.final.get("items", 0) + stored
                outcome.expected["items"] = outcome.expected.get("items", 0) + feeds * (10 + i)
                if failed or stored != feeds * (10 + i):
                    outcome.failures.append(
                        f"trial {i}: {stored} items of {feeds * (10 + i)}, errors {failed[:3]}"
                    )
            progress(f"{kind} worker kills: {i + 1}/{trials} ({len(outcome.failures)} failed)")
    return outcome


# -- report ------------------------------------------------------------------------------


def report(outcomes: list[Outcome]) -> str:
    """The Markdown table of ``outcomes``, then one line per failed check."""
    lines = [
        "| db | command | anchor run (s) | kills | killed after a commit "
        "| finished before the kill | checks failed | orphan wait median / max (s) "
        "| final rows | wall (s): runs + checks + scans + set-up |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for o in outcomes:
        waits = o.orphan_waits or [0.0]
        final = ", ".join(
            f"{k} {v:,}" for k, v in o.final.items() if k in ("papers", "items", "distinct titles")
        )
        rest = o.wall_seconds - o.run_seconds - o.check_seconds - o.scan_seconds
        lines.append(
            f"| {o.db} | {o.command} | {o.anchor_seconds:.1f} | {o.kills} | {o.mid_work} "
            f"| {o.finished_first} | {len(o.failures)} "
            f"| {statistics.median(waits):.2f} / {max(waits):.2f} | {final} "
            f"| {o.wall_seconds:.0f}: {o.run_seconds:.0f} + {o.check_seconds:.0f} "
            f"+ {o.scan_seconds:.1f} + {rest:.0f} |"
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
    with tempfile.TemporaryDirectory(prefix="mlradar-kill-") as tmp:
        folder = Path(tmp)
        # A PostgreSQL database's ranking index lives in the user cache: the throwaway
        # ones go with the folder (for the runs, which inherit it, and for the checks).
        cache = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        try:
            return _run_in(folder, kinds, kills, papers, feeds, rng, only, progress)
        finally:
            if cache is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = cache


def _run_in(
    folder: Path,
    kinds: list[str],
    kills: int,
    papers: int | None,
    feeds: int,
    rng: random.Random,
    only: str | None,
    progress: Callable[[str], None],
) -> list[Outcome]:
    outcomes = []
    for kind in kinds:
        if only in (None, "import"):
            outcomes.append(import_kills(kind, folder, kills, papers, rng, progress))
            progress(report(outcomes[-1:]))
        if only in (None, "update"):
            outcomes.append(update_kills(kind, folder, kills, feeds, rng, progress))
            progress(report(outcomes[-1:]))
        if only == "worker":  # not part of the default run: a separate question
            outcomes.append(worker_kills(kind, folder, kills, feeds, rng, progress))
            progress(report(outcomes[-1:]))
    return outcomes


def _concurrently(argv: list[str], kinds: list[str]) -> list[Outcome]:
    """Run this script once per database kind, all at once; gather their outcomes.

    A child that dies without writing its outcomes counts as a failed check.
    """
    with tempfile.TemporaryDirectory(prefix="mlradar-kill-outcomes-") as tmp:
        children = []
        for kind in kinds:
            out = Path(tmp) / f"{kind}.json"
            cmd = [sys.executable, __file__, *argv, "--db", kind, "--outcomes", str(out)]
            children.append((kind, out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL)))
        outcomes = []
        for kind, out, child in children:
            child.wait()
            try:
                outcomes += [Outcome(**o) for o in json.loads(out.read_text())]
            except (OSError, ValueError, TypeError) as exc:
                outcomes.append(
                    Outcome(kind, "all", failures=[f"exit {child.returncode}, no outcomes: {exc}"])
                )
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--papers", type=int, default=None, help="first N snapshot lines")
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("import", "update", "worker"), default=None)
    parser.add_argument("--json", action="store_true", help="also print the raw outcomes")
    parser.add_argument(
        "--concurrent", action="store_true", help="one process per database kind, all at once"
    )
    parser.add_argument("--outcomes", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = args.db.split(",")
    if args.concurrent and len(kinds) > 1:
        forwarded = ["--kills", str(args.kills), "--feeds", str(args.feeds)]
        forwarded += ["--seed", str(args.seed)]
        if args.papers is not None:
            forwarded += ["--papers", str(args.papers)]
        if args.only is not None:
            forwarded += ["--only", args.only]
        outcomes = _concurrently(forwarded, kinds)
    else:
        outcomes = run(
            kinds,
            args.kills,
            papers=args.papers,
            feeds=args.feeds,
            seed=args.seed,
            only=args.only,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
        )
    if args.outcomes is not None:
        args.outcomes.write_text(json.dumps([o.__dict__ for o in outcomes]))
        return 0 if all(o.ok for o in outcomes) else 1
    print(report(outcomes))
    if args.json:
        print(json.dumps([o.__dict__ for o in outcomes], indent=1))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
