"""How long ``mlradar eval --quick`` takes, whole process, on the real data.

    python benchmarks/cli_eval_quick.py [--runs 1] [--base /tmp/main-src]

Runs ``python -m mlradar eval --quick --json`` (``../shared/data`` as the eval data) with
this checkout's ``src``, and, with ``--base`` (the ``src`` folder of another checkout, e.g.
``git archive main src``), the same command with that code, interleaved so that the
machine's load hits each alike.  Reports wall-clock seconds, the process's CPU seconds
(user + system, which a loaded machine inflates much less than wall time) and the number of
tasks each evaluated.  Prints one JSON object: medians and all samples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as tmp:
        env["MLRADAR_CONFIG"] = str(Path(tmp) / "none.toml")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        command = [sys.executable, "-m", "mlradar", "--db", str(Path(tmp) / "x.sqlite")]
        done = subprocess.run(
            [*command, "eval", "--quick", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(done.stdout)
    tasks = {r["task_kind"]: r["n_tasks"] for r in report["rows"]}
    return {"wall": wall, "cpu": cpu, "tasks": float(sum(tasks.values()))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--base", type=Path, help="the src folder of the code to compare")
    args = parser.parse_args()
    variants = {"this": ROOT / "src"}
    if args.base:
        variants["base"] = args.base
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    for _ in range(args.runs):
        for name, src in variants.items():
            samples[name].append(run_once(src))
            print(name, samples[name][-1], file=sys.stderr)
    out: dict[str, object] = {"load_average": os.getloadavg(), "samples": samples}
    for name, runs in samples.items():
        out[f"{name}_median"] = {
            k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "tasks")
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
