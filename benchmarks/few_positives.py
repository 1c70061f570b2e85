"""The few-positives row (issue 12), measured with more draws than ``mlradar eval`` makes.

    python benchmarks/few_positives.py [--draws 25] [--split test] [--seed 0] [--json]

``mlradar eval`` draws 5 sets of 3 earlier picks per curator day (20 tasks on the test
split): 200 ranked slots, where one pick more or less moves P@10 by 0.005 — the gap the
last report measured.  This runs the same ``curator-3`` task with ``--draws`` sets per
day, arxiv-sanity-lite's method beside the product's lexical default, and prints
P@10 and MAP with their ratios and a bootstrap interval (over tasks, paired) of each ratio, so
that a difference can be told from the noise of 3-paper draws.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=25)
    ap.add_argument("--split", default="test", choices=("dev", "test"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from mlradar._rank import eval as ev
    from mlradar._rank.corpus import read_snapshot

    started = time.perf_counter()
    corpus = read_snapshot(DATA / "arxiv" / "papers.jsonl.gz")
    options = ev.EvalOptions(
        author_tasks=0,
        cat_draws=0,
        seed=args.seed,
        split=args.split,
        few_draws=args.draws,
        measure_memory=False,
    )
    wanted = ("arxiv-sanity (with authors)", "ours: blend, lexical (default)")
    chosen = [m for m in ev.default_methods(False) if m.name.startswith(wanted)]
    features = ev.build_features(corpus, None, baselines=True, plain_baseline=False)
    tasks = [t for t in ev.build_tasks(corpus, options, DATA / "feeds") if t.kind == "curator-3"]
    print(
        f"{len(tasks)} curator-3 tasks, split {args.split}: {[m.name for m in chosen]}",
        file=sys.stderr,
    )
    report = ev.run_eval(
        corpus,
        features,
        chosen,
        tasks,
        measure_memory=False,
        feature_seconds=time.perf_counter() - started,
        log=lambda m: print(m, file=sys.stderr),
    )
    per: dict[str, dict[str, ev.Metrics]] = {}
    for t in report.per_task:
        per.setdefault(t.method, {})[t.task] = t.metrics
    base = per[ev.BASELINE]
    keys = sorted(base)
    rng = np.random.default_rng(args.seed)
    boots = rng.integers(0, len(keys), size=(2000, len(keys)))
    out = {}
    for name, by_task in per.items():
        p = np.array([by_task[k].precision_at_10 for k in keys])
        a = np.array([by_task[k].average_precision for k in keys])
        bp = np.array([base[k].precision_at_10 for k in keys])
        ba = np.array([base[k].average_precision for k in keys])
        ratio_p = p[boots].mean(1) / np.maximum(bp[boots].mean(1), 1e-9)
        ratio_a = a[boots].mean(1) / np.maximum(ba[boots].mean(1), 1e-9)
        out[name] = {
            "tasks": len(keys),
            "p_at_10": round(float(p.mean()), 4),
            "x_as_p_at_10": round(float(p.mean() / bp.mean()), 3),
            "x_as_p_at_10_95ci": [round(float(v), 3) for v in np.percentile(ratio_p, [2.5, 97.5])],
            "map": round(float(a.mean()), 4),
            "x_as_map": round(float(a.mean() / ba.mean()), 3),
            "x_as_map_95ci": [round(float(v), 3) for v in np.percentile(ratio_a, [2.5, 97.5])],
            "seconds": round(time.perf_counter() - started, 1),
        }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
