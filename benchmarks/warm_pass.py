"""The warm pass alone, A/B: code trees side by side on the same feeds and databases.

A warm pass (every source fetched again, nearly all answering 304) is short and noisy, so
``update_feeds.py`` measures it once per cold run.  This one pays the cold pass once per
code tree, then runs ``--repeat`` rounds per tree, interleaved, each in a fresh process
that makes two warm passes: the second is the figure (as update_feeds.py measures it),
the first is reported beside it.  Medians, and the ratio to the first tree:

    git worktree add /work/wt/base HEAD~1
    python benchmarks/warm_pass.py --feeds 1000 --repeat 7 --src /work/wt/base/src --src src

The feeds are update_feeds.py's: the real ones in ../shared/data/feeds, repeated under
distinct URLs on a loopback server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.update_feeds import cpu_seconds, start_server  # noqa: E402


def child(urls_file: str, db: str, cold: bool) -> None:
    from mlradar import make_radar

    radar = make_radar(db, allow_private_networks=True, total_timeout=60)
    if cold:
        for u in json.loads(Path(urls_file).read_text()):
            radar._storage.add_source(radar._user_id, u, "feed")
        summary = radar.update()
        print(json.dumps({"failed": summary.failed, "entries": radar.stats().items}))
        return
    # The first pass of a process pays its imports and connections (what a cron-run
    # `mlradar update` costs); the second is update_feeds.py's warm pass.
    t0 = time.perf_counter()
    radar.update(force=True)
    c1, t1 = cpu_seconds(), time.perf_counter()
    summary = radar.update(force=True)
    c2, t2 = cpu_seconds(), time.perf_counter()
    print(
        json.dumps(
            {
                "fresh_s": t1 - t0,
                "warm_s": t2 - t1,
                "warm_cpu_s": c2 - c1,
                "failed": summary.failed,
                "not_modified": sum(s.not_modified for s in summary.sources),
            }
        )
    )


def run_child(src: str, urls_file: Path, db: Path, cold: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src, "PYTHONWARNINGS": "ignore"}
    mode = "cold" if cold else "warm"
    args = [sys.executable, __file__, "--child", str(urls_file), str(db), mode]
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--src", action="append", help="a tree's src folder (give two or more)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        urls_file, db, mode = args.child
        child(urls_file, db, mode == "cold")
        return
    trees = [str(Path(s).resolve()) for s in (args.src or [str(ROOT / "src")])]

    server, urls = start_server(args.feeds)
    load = [os.getloadavg()[0]]
    results: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        dbs = {t: Path(tmp) / f"tree{i}.sqlite" for i, t in enumerate(trees)}
        for tree in trees:
            print(tree, "cold", run_child(tree, urls_file, dbs[tree], True), file=sys.stderr)
        for _ in range(args.repeat):
            for tree in trees:  # interleaved, so noise hits every tree alike
                results[tree].append(run_child(tree, urls_file, dbs[tree], False))
                print(tree, results[tree][-1], file=sys.stderr)
        load.append(os.getloadavg()[0])
    server.terminate()

    print(
        f"\n{args.feeds} feeds, {args.repeat} warm passes per tree, median; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load {load[0]:.2f} -> {load[-1]:.2f}\n"
    )
    print(
        "| tree | warm (s) | warm CPU (s) | runs (s) | x first "
        "| fresh process's first pass (s) | not modified | failed |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    first = statistics.median(r["warm_s"] for r in results[trees[0]])
    for tree in trees:
        runs = results[tree]
        wall = statistics.median(r["warm_s"] for r in runs)
        cpu = statistics.median(r["warm_cpu_s"] for r in runs)
        each = ", ".join(f"{r['warm_s']:.2f}" for r in runs)
        print(
            f"| {tree} | {wall:.2f} | {cpu:.2f} | {each} "
            f"| {wall / first:.2f} | {statistics.median(r['fresh_s'] for r in runs):.2f} "
            f"| {min(r['not_modified'] for r in runs):.0f} "
            f"| {max(r['failed'] for r in runs):.0f} |"
        )


if __name__ == "__main__":
    main()
