"""Benchmark: importing arXiv's bulk metadata snapshot, full-text indexing included.

    python benchmarks/arxiv_import.py [--runs 3] [--big 1000000] [--skip-big]
                                      [--modes bulk,rows] [--db sqlite,postgresql]

For each file it measures, in the same run:

* a bare pass that only decompresses and parses the JSON lines (orjson), the floor any
  import of that file stands on;
* ``mlradar arxiv import`` into a fresh database (a subprocess, so its peak memory is its
  own), once per mode: ``bulk`` (the full-text index deferred and built once the file
  is read: what a large file into an empty database gets) and ``rows`` (indexed row by
  row, what it got before): wall and CPU time, records/s, peak RSS of the importer and
  of its parser process, and the database size;
* the ranking-index sync that ``arxiv import`` runs after the import, timed apart (the
  import column does not include it).

The files: the real ``papers.jsonl.gz`` (74,728 papers) from the shared data, and a
1,000,000-record file made by repeating it under fresh ids, generated into a temporary
directory (never committed).  Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from shared_data import DATA  # beside this script

SNAPSHOT = DATA / "arxiv" / "papers.jsonl.gz"
PG_ADMIN = os.environ.get(
    "MLRADAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

_IMPORTER = r"""
import json, resource, sys, time
from mlradar._radar import make_radar
db, path, bulk = sys.argv[1], sys.argv[2], sys.argv[3] == "bulk"
with make_radar(db) as radar:
    wall, cpu = time.perf_counter(), time.process_time()
    summary = radar.import_arxiv_snapshot(path, bulk=bulk, index=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sync = time.perf_counter()
    radar._core.sync_rank_index_after_write(True)
    sync = time.perf_counter() - sync
    radar._storage.engine.dispose()
print(json.dumps({
    "papers": summary.papers, "skipped": summary.skipped, "wall": wall, "cpu": cpu,
    "sync": sync,
    "rss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "rss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "cpu_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
}))
"""


@dataclass
class Result:
    records: int
    bare_s: float
    sync_s: float
    wall_s: float
    cpu_s: float
    cpu_parser_s: float
    rss_main_mb: float
    rss_parser_mb: float
    db_mb: float

    @property
    def rate(self) -> float:
        return self.records / self.wall_s


def bare_pass(path: Path) -> tuple[int, float]:
    """Decompress and parse every line; nothing else."""
    start = time.perf_counter()
    n = 0
    with gzip.open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n, time.perf_counter() - start


def import_once(path: Path, workdir: Path, mode: str, db_kind: str) -> Result:
    if db_kind == "postgresql":
        with _pg_database() as (url, size_of):
            out = _run_importer(url, path, mode)
            size = size_of()
    else:
        db = workdir / "bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        out = _run_importer(str(db), path, mode)
        size = sum(
            Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
        )
    return Result(
        records=out["papers"],
        bare_s=0.0,
        sync_s=out["sync"],
        wall_s=out["wall"],
        cpu_s=out["cpu"],
        cpu_parser_s=out["cpu_children"],
        rss_main_mb=out["rss_self_kb"] / 1024,
        rss_parser_mb=out["rss_children_kb"] / 1024,
        db_mb=size / 1e6,
    )


def _run_importer(db: str, path: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTER, db, str(path), mode],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"the importer failed:\n{done.stderr}")
    out: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return out


@contextlib.contextmanager
def _pg_database() -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh PostgreSQL database (dropped afterwards), and a way to read its size."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"mlradar_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def size_of() -> int:
        with admin.connect() as conn:
            return int(conn.execute(text(f"SELECT pg_database_size('{name}')")).scalar_one())

    try:
        yield url, size_of
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_big(n: int, target: Path) -> Path:
    """``n`` records: the real snapshot repeated, each copy under fresh valid ids."""
    records = []
    with gzip.open(SNAPSHOT, "rb") as f:
        records = [orjson.loads(line) for line in f]
    with gzip.open(target, "wb", compresslevel=6) as out:
        for i in range(n):
            r = dict(records[i % len(records)])
            # New-style ids from 4001.00000 on (100,000 a month) are valid and collide with
            # no real paper.
            block, number = divmod(i, 100_000)
            year, month = divmod(block, 12)
            r["id"] = f"{40 + year:02d}{month + 1:02d}.{number:05d}"
            out.write(orjson.dumps(r) + b"\n")
    return target


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout
    total = next((ln.split()[1] for ln in mem.splitlines() if ln.startswith("Mem:")), "?")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {total} RAM, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; load average at start {load}"
    )


def measure(
    path: Path, runs: int, workdir: Path, modes: list[str], db_kind: str
) -> dict[str, Result]:
    """Per mode, the run of median import time; the modes alternate within each round, and
    each import is paired with a bare pass of its own, so all face the same load."""
    results: dict[str, list[Result]] = {m: [] for m in modes}
    for _ in range(runs):
        for mode in modes:
            n, bare = bare_pass(path)
            r = import_once(path, workdir, mode, db_kind)
            r.bare_s = bare
            assert r.records == n, (r.records, n)
            results[mode].append(r)
            print(
                f"  {db_kind} {mode}: {r.records} records, import {r.wall_s:.1f} s "
                f"({r.rate:.0f}/s, {r.wall_s / bare:.1f}x), bare pass {bare:.1f} s, "
                f"rank-index sync {r.sync_s:.1f} s; load {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
            )
    out = {}
    for mode, rs in results.items():
        mid = statistics.median(r.wall_s for r in rs)
        out[mode] = min(rs, key=lambda r: abs(r.wall_s - mid))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs on the real file (median)")
    parser.add_argument("--big", type=int, default=1_000_000, help="records in the big file")
    parser.add_argument("--big-runs", type=int, default=1)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--modes", default="bulk,rows", help="bulk, rows, or both")
    parser.add_argument("--big-modes", default="bulk", help="modes for the big file")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql, or both")
    args = parser.parse_args()
    modes, big_modes = args.modes.split(","), args.big_modes.split(",")
    print(f"machine: {machine()}", file=sys.stderr)
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlradar-bench-") as tmp:
        workdir = Path(tmp)
        for db_kind in args.db.split(","):
            print(f"{SNAPSHOT.name}:", file=sys.stderr)
            for mode, r in measure(SNAPSHOT, args.runs, workdir, modes, db_kind).items():
                rows.append((db_kind, mode, "papers.jsonl.gz", r))
        if not args.skip_big:
            big = make_big(args.big, workdir / "big.jsonl.gz")
            print(f"{big.name} ({big.stat().st_size / 1e6:.0f} MB):", file=sys.stderr)
            for db_kind in args.db.split(","):
                measured = measure(big, args.big_runs, workdir, big_modes, db_kind)
                for mode, r in measured.items():
                    rows.append((db_kind, mode, f"{args.big:,} records", r))
        print(f"load average at the end {os.getloadavg()}", file=sys.stderr)
    print(
        "| database | mode | file | records | import (s) | records/s | bare pass (s) | "
        "import / bare | CPU importer + parser (s) | peak RSS importer / parser (MB) | "
        "database (MB) | rank-index sync (s) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for db_kind, mode, name, r in rows:
        print(
            f"| {db_kind} | {mode} | {name} | {r.records:,} | {r.wall_s:.1f} | {r.rate:,.0f} | "
            f"{r.bare_s:.1f} | {r.wall_s / r.bare_s:.1f}x | "
            f"{r.cpu_s:.1f} + {r.cpu_parser_s:.1f} | "
            f"{r.rss_main_mb:.0f} / {r.rss_parser_mb:.0f} | {r.db_mb:,.0f} | {r.sync_s:.1f} |"
        )


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
