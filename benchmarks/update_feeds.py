"""Update 1,000 feeds served on loopback, cold then warm, mlradar and reader side by side.

The feeds are the real ones in ../shared/data/feeds (blogs, labs, Hugging Face daily
papers), repeated under distinct URLs.  Both tools update the same URLs from the same
server, each in a fresh process with a fresh database; the run is repeated and the
median is reported, with the peak RSS of the tool's process (and of its largest child
process, where it has workers).

    python benchmarks/update_feeds.py --feeds 1000 --repeat 3
    python benchmarks/update_feeds.py --feeds 1000 --repeat 3 --baseline ../old-checkout

``--baseline`` runs a second mlradar, imported from that checkout's ``src``, in the same
interleaved rounds: a change measured against the code before it, on the same machine at
the same moment.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "feeds"


def feed_files() -> list[Path]:
    blogs = [
        "blogs/lilianweng/index.xml",
        "blogs/colah/rss.xml",
        "blogs/offconvex/_site/feed.xml",
        "blogs/yang-song/feed.xml",
        "blogs/jakevdp/feeds/all.atom.xml",
    ]
    files = [DATA / b for b in blogs]
    files += sorted((DATA / "labs").rglob("*.xml"))
    files += sorted((DATA / "hf-daily-papers").glob("*.xml"))
    return files


def serve(
    n: int,
    ready: multiprocessing.synchronize.Event,
    port_value: multiprocessing.sharedctypes.Synchronized,
) -> None:  # type: ignore[name-defined]
    from tests.feedserver import FeedServer

    files = feed_files()
    server = FeedServer()
    server.gzip = False  # the same bytes for both tools; no server-side compression cost
    for i in range(n):
        f = files[i % len(files)]
        server.add(f"/{i}/{f.name}", f.read_bytes())
    port_value.value = int(server.base.rsplit(":", 1)[1])
    ready.set()
    server._server.serve_forever()


def start_server(n: int) -> tuple[multiprocessing.Process, list[str]]:
    """The loopback server of ``n`` feeds, in its own process, and their URLs."""
    ready = multiprocessing.Event()
    port = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=serve, args=(n, ready, port), daemon=True)
    server.start()
    ready.wait(60)
    files = feed_files()
    urls = [f"http://127.0.0.1:{port.value}/{i}/{files[i % len(files)].name}" for i in range(n)]
    return server, urls


def peak_rss_mib() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def cpu_seconds() -> float:
    """CPU time of this process and its (finished) workers: what the work costs,
    whatever else the shared machine is doing."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def run_mlradar(urls: list[str], db: str) -> dict[str, float]:
    from mlradar import make_radar

    radar = make_radar(db, allow_private_networks=True, total_timeout=60)
    storage = radar._storage
    for u in urls:
        storage.add_source(radar._user_id, u, "feed")
    c0, t0 = cpu_seconds(), time.perf_counter()
    cold = radar.update()
    c1, t1 = cpu_seconds(), time.perf_counter()
    warm = radar.update(force=True)
    c2, t2 = cpu_seconds(), time.perf_counter()
    me, kids = peak_rss_mib()
    return {
        "cold_s": t1 - t0,
        "warm_s": t2 - t1,
        "cold_cpu_s": c1 - c0,
        "warm_cpu_s": c2 - c1,
        "entries": radar.stats().items,
        "failed": cold.failed + warm.failed,
        "warm_not_modified": sum(s.not_modified for s in warm.sources),
        "rss_mib": me,
        "child_rss_mib": kids,
    }


def run_reader(urls: list[str], db: str, workers: int) -> dict[str, float]:
    from reader import make_reader

    r = make_reader(db)
    for u in urls:
        r.add_feed(u)
    c0, t0 = cpu_seconds(), time.perf_counter()
    r.update_feeds(workers=workers)
    c1, t1 = cpu_seconds(), time.perf_counter()
    # scheduled=False: fetch every feed again, as mlradar's update(force=True) does.
    r.update_feeds(workers=workers, scheduled=False)
    c2, t2 = cpu_seconds(), time.perf_counter()
    failed = sum(1 for f in r.get_feeds() if f.last_exception)
    me, kids = peak_rss_mib()
    return {
        "cold_s": t1 - t0,
        "warm_s": t2 - t1,
        "cold_cpu_s": c1 - c0,
        "warm_cpu_s": c2 - c1,
        "entries": r.get_entry_counts().total,
        "failed": failed,
        "rss_mib": me,
        "child_rss_mib": kids,
    }


def child(tool: str, urls_file: str, db: str, workers: int) -> None:
    urls = json.loads(Path(urls_file).read_text())
    result = run_reader(urls, db, workers) if tool == "reader" else run_mlradar(urls, db)
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reader-workers", type=int, nargs="+", default=[1, 8])
    ap.add_argument(
        "--baseline", type=Path, help="another mlradar checkout to run beside this one"
    )
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        tool, urls_file, db, workers = args.child
        child(tool, urls_file, db, int(workers))
        return

    server, urls = start_server(args.feeds)
    tools = [("mlradar", 0)] + [("reader", w) for w in args.reader_workers]
    if args.baseline:
        tools.insert(1, ("baseline", 0))
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        for rep in range(args.repeat):
            for tool, workers in tools:  # interleaved, so noise hits every tool alike
                db = str(Path(tmp) / f"{tool}-{workers}-{rep}.sqlite")
                env = {**os.environ, "PYTHONWARNINGS": "ignore"}
                if tool == "baseline":
                    # Its src first on the path: it shadows this checkout's installed mlradar.
                    env["PYTHONPATH"] = str(args.baseline.resolve() / "src")
                out = subprocess.run(
                    [sys.executable, __file__, "--child", tool, str(urls_file), db, str(workers)],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                )
                label = {
                    "mlradar": "mlradar",
                    "baseline": f"mlradar at {args.baseline}",
                }.get(tool, f"reader (workers={workers})")
                results.setdefault(label, []).append(
                    json.loads(out.stdout.strip().splitlines()[-1])
                )
                print(label, results[label][-1], file=sys.stderr)
    server.terminate()

    print(
        f"\n{args.feeds} feeds, {args.repeat} runs, median; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n"
    )
    print(
        "| tool | cold (s) | cold CPU (s) | warm (s) | warm CPU (s) | entries stored | failed "
        "| peak RSS (MiB) | largest worker RSS (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = statistics.median(r["cold_s"] for r in results["mlradar"])
    for label, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"| {label} | {med['cold_s']:.2f} | {med['cold_cpu_s']:.1f} | {med['warm_s']:.2f} | "
            f"{med['warm_cpu_s']:.1f} | {med['entries']:.0f} | {med['failed']:.0f} | "
            f"{med['rss_mib']:.0f} | {med['child_rss_mib']:.0f} |"
        )
    for label, runs in results.items():
        if label != "mlradar":
            ratio = statistics.median(r["cold_s"] for r in runs) / base
            cpu = statistics.median(r["cold_cpu_s"] for r in runs) / statistics.median(
                r["cold_cpu_s"] for r in results["mlradar"]
            )
            print(
                f"\nmlradar cold is {ratio:.2f}x faster than {label} (wall clock); "
                f"{label} uses {cpu:.2f}x the CPU mlradar uses"
            )


if __name__ == "__main__":
    main()
