"""Answers in under a second: whole CLI processes and the warm Python API at 75k papers.

    python benchmarks/rank_cli.py build --work /tmp/mlradar-cli-75k
    python benchmarks/rank_cli.py time --work /tmp/mlradar-cli-75k [--runs 10] \
        [--base /tmp/rank-base/src [--base-revision 0012]]

``build`` imports the real snapshot (``../shared/data/arxiv/papers.jsonl.gz``) through the
product (``Radar.import_arxiv_snapshot``), syncs the ranking index, and tags the picks of
the Hugging Face Daily Papers snapshots (``../shared/data/feeds/hf-daily-papers``) listed
before 2026-04-20 under the tag ``curated``, then follows the real feeds the web benchmark
uses (served on loopback, updated once) so that ``items`` lists real items.  ``time``
measures, interleaved so that the machine's noise hits each alike:

* ``mlradar recommend --tag curated --since D --until D --limit 20 --json`` (one listing
  day, 2026-04-27's): the whole process from start to exit, with the trained model cached
  (what every call after the first is), and cold (the cache deleted before each run);
* ``mlradar stats --json`` and ``mlradar items -n 20``;
* ``Radar.recommend`` warm in one process (the model and the index in memory);

and, with ``--base`` (the ``src`` folder of an older checkout, e.g. ``git archive`` of the
commit before these changes), the same commands run by that code on a copy of the database,
in the same run.  Prints one JSON object: medians and all samples, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DAY = "2026-04-27"
TAG = "curated"
CUT = "2026-04-20"


def build(work: Path) -> dict[str, object]:
    from mlradar import make_radar
    from mlradar._rank.eval_tasks import curator_picks

    work.mkdir(parents=True, exist_ok=True)
    db = work / "radar.sqlite"
    if db.exists():
        raise SystemExit(f"{db} exists: remove {work} first")
    radar = make_radar(str(db), allow_private_networks=True)
    start = time.perf_counter()
    summary = radar.import_arxiv_snapshot(DATA / "arxiv" / "papers.jsonl.gz")
    imported = time.perf_counter() - start
    start = time.perf_counter()
    rows = radar.sync_rank_index()
    synced = time.perf_counter() - start
    picks = [
        a
        for p in curator_picks(DATA / "feeds" / "hf-daily-papers")
        if str(p.day) < CUT
        for a in p.arxiv_ids
    ]
    stored = radar._storage.paper_db_ids(picks)
    radar.tag(TAG, sorted(stored))
    start = time.perf_counter()
    new_items = _add_feeds(radar)
    fed = time.perf_counter() - start
    radar.close()
    return {
        "phase": "build",
        "papers": summary.new if hasattr(summary, "new") else None,
        "import_s": imported,
        "sync_s": synced,
        "index_rows": rows,
        "tagged": len(stored),
        "feed_items": new_items,
        "feeds_s": fed,
    }


def _add_feeds(radar: Any) -> int:
    """The real feeds of ``../shared/data/feeds`` (the web benchmark's set), served on
    loopback and updated once, so that `items` and `stats` list and count real items."""
    from web_load import serve_feeds

    server, files = serve_feeds()
    try:
        for i, f in enumerate(files):
            radar.add_source(server.url(f"/{i}/{f.name}"), discover=False)
        return int(radar.update().new)
    finally:
        server._server.shutdown()


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _commands(db: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "mlradar", "--db", str(db)]
    return {
        "recommend": [
            *cli,
            "recommend",
            "--tag",
            TAG,
            "--since",
            DAY,
            "--until",
            DAY,
            "--limit",
            "20",
            "--json",
        ],
        "stats": [*cli, "stats", "--json"],
        "items": [*cli, "items", "-n", "20"],
    }


def _warm_api(db: Path, runs: int) -> list[float]:
    from datetime import date

    from mlradar import make_radar

    radar = make_radar(str(db))
    day = date.fromisoformat(DAY)
    radar.recommend(tag=TAG, since=day, until=day, limit=20)  # train or load, map the files
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        radar.recommend(tag=TAG, since=day, until=day, limit=20)
        samples.append(time.perf_counter() - start)
    return samples


def _downgrade(db: Path, revision: str) -> None:
    """Take the base's copy back to the schema the older code knows (with this code's
    migrations: they lose nothing going down)."""
    from alembic import command

    from mlradar._storage._engine import _alembic_config, make_engine

    engine = make_engine(f"sqlite:///{db}")
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def timing(
    work: Path, runs: int, base: Path | None, base_revision: str | None = None
) -> dict[str, object]:
    db = work / "radar.sqlite"
    env = {**os.environ, "MLRADAR_CONFIG": str(work / "no-config.toml")}
    variants = {"now": (db, {**env, "PYTHONPATH": str(ROOT / "src")})}
    if base is not None:
        copy = work / "base" / "radar.sqlite"
        if not copy.exists():
            copy.parent.mkdir(exist_ok=True)
            shutil.copy(db, copy)
            shutil.copytree(work / "radar.sqlite.rank", work / "base" / "radar.sqlite.rank")
            if base_revision is not None:
                _downgrade(copy, base_revision)
        variants["base"] = (copy, {**env, "PYTHONPATH": str(base)})
    samples: dict[str, list[float]] = {}
    models = work / "radar.sqlite.rank" / "models"
    for path, venv in variants.values():
        _run(_commands(path)["recommend"], venv)  # warm the page cache, train once
    # What no command can go below: the interpreter, and importing what every command needs.
    floors = {
        "floor: python -c pass": [sys.executable, "-c", "pass"],
        "floor: import mlradar.cli": [sys.executable, "-c", "import mlradar.cli"],
        "floor: import mlradar.cli + open the radar": [
            sys.executable,
            "-c",
            f"import mlradar.cli; from mlradar import make_radar; make_radar({str(db)!r})",
        ],
        "floor: import numpy + scipy.sparse": [sys.executable, "-c", "import scipy.sparse"],
    }
    for _ in range(runs):
        for what, cmd in floors.items():
            samples.setdefault(what, []).append(_run(cmd, variants["now"][1]))
        for name, (path, venv) in variants.items():
            for what, cmd in _commands(path).items():
                samples.setdefault(f"{name} {what}", []).append(_run(cmd, venv))
        # Cold: the trained model must be fitted again.
        shutil.rmtree(models, ignore_errors=True)
        samples.setdefault("now recommend, model not cached", []).append(
            _run(_commands(db)["recommend"], variants["now"][1])
        )
    samples["now Radar.recommend warm"] = _warm_api(db, max(runs, 20))
    return {
        "phase": "time",
        "runs": runs,
        "load_average": os.getloadavg(),
        "median_s": {k: statistics.median(v) for k, v in samples.items()},
        "samples_s": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("phase", choices=["build", "time"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument(
        "--base-revision",
        default=None,
        help="schema revision the base code knows (its copy is migrated down to it)",
    )
    args = parser.parse_args()
    out = (
        build(args.work)
        if args.phase == "build"
        else timing(args.work, args.runs, args.base, args.base_revision)
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
