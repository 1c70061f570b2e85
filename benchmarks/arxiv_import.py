"""Benchmark: importing arXiv's bulk metadata snapshot, full-text indexing included.

    python benchmarks/arxiv_import.py [--runs 3] [--big 1000000] [--skip-big]

For each file it measures, in the same run:

* a bare pass that only decompresses and parses the JSON lines (orjson), the floor any
  import of that file stands on;
* ``mlradar arxiv import`` into a fresh SQLite database (a subprocess, so its peak memory
  is its own): wall and CPU time, records/s, peak RSS of the importer and of its parser
  process, and the database size.

The files: the real ``papers.jsonl.gz`` (74,728 papers) from the shared data, and a
1,000,000-record file made by repeating it under fresh ids, generated into a temporary
directory (never committed).  Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"

_IMPORTER = r"""
import json, resource, sys, time
from mlradar._radar import make_radar
db, path = sys.argv[1], sys.argv[2]
with make_radar(db) as radar:
    wall, cpu = time.perf_counter(), time.process_time()
    summary = radar.import_arxiv_snapshot(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    radar._storage.engine.dispose()
print(json.dumps({
    "papers": summary.papers, "skipped": summary.skipped, "wall": wall, "cpu": cpu,
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


def import_once(path: Path, workdir: Path) -> Result:
    db = workdir / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTER, str(db), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = orjson.loads(done.stdout.strip().splitlines()[-1])
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    return Result(
        records=out["papers"],
        bare_s=0.0,
        wall_s=out["wall"],
        cpu_s=out["cpu"],
        cpu_parser_s=out["cpu_children"],
        rss_main_mb=out["rss_self_kb"] / 1024,
        rss_parser_mb=out["rss_children_kb"] / 1024,
        db_mb=size / 1e6,
    )


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


def measure(path: Path, runs: int, workdir: Path) -> Result:
    results = []
    for _ in range(runs):
        n, bare = bare_pass(path)
        r = import_once(path, workdir)
        r.bare_s = bare
        assert r.records == n, (r.records, n)
        results.append(r)
        print(
            f"  run: {r.records} records, import {r.wall_s:.1f} s ({r.rate:.0f}/s), "
            f"bare pass {bare:.1f} s",
            file=sys.stderr,
        )
    mid = statistics.median(r.wall_s for r in results)
    return min(results, key=lambda r: abs(r.wall_s - mid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs on the real file (median)")
    parser.add_argument("--big", type=int, default=1_000_000, help="records in the big file")
    parser.add_argument("--big-runs", type=int, default=1)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}", file=sys.stderr)
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlradar-bench-") as tmp:
        workdir = Path(tmp)
        print(f"{SNAPSHOT.name}:", file=sys.stderr)
        rows.append(("papers.jsonl.gz", measure(SNAPSHOT, args.runs, workdir)))
        if not args.skip_big:
            big = make_big(args.big, workdir / "big.jsonl.gz")
            print(f"{big.name} ({big.stat().st_size / 1e6:.0f} MB):", file=sys.stderr)
            rows.append((f"{args.big:,} records", measure(big, args.big_runs, workdir)))
    print(
        "| file | records | import (s) | records/s | bare pass (s) | import / bare | "
        "CPU importer + parser (s) | peak RSS importer / parser (MB) | database (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r.records:,} | {r.wall_s:.1f} | {r.rate:,.0f} | {r.bare_s:.1f} | "
            f"{r.wall_s / r.bare_s:.1f}x | {r.cpu_s:.1f} + {r.cpu_parser_s:.1f} | "
            f"{r.rss_main_mb:.0f} / {r.rss_parser_mb:.0f} | {r.db_mb:,.0f} |"
        )


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
