"""CPU of parsing the real feeds: feedparser against the lxml fast path, side by side.

Every RSS/Atom file in ../shared/data/feeds is parsed in this one process, each way in
turn, ``--repeat`` times (interleaved, so that noise hits every way alike); the median
CPU time (``time.process_time``, not wall clock: the machine is shared) is reported with
its ratio to feedparser's.  Two levels:

* the parser alone: ``feedparser.parse`` as mlradar calls it (sanitizer off), the fast
  path's ``parse_clean`` and, when it is installed, fastfeedparser (for reference: it is
  not used, see docs/benchmarks.md, "Feeds: a compiled parse path");
* the whole ``parse_feed`` (prepare, parse, nh3, plain text, ids, keys), with the fast
  path switched off and on.

    python benchmarks/feed_parse.py --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data" / "feeds"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import feedparser

    from mlradar._sources import feed as feed_module
    from mlradar._sources.fastparse import FastResult, parse_clean
    from mlradar._sources.prepare import prepare_xml

    files = sorted(p for p in DATA.rglob("*.xml") if b"<urlset" not in p.read_bytes()[:2000])
    docs = [(p.read_bytes(), f"http://127.0.0.1/{p.relative_to(DATA)}") for p in files]
    prepared = [prepare_xml(data, None) for data, _ in docs]
    entries = sum(len(feed_module.parse_feed(d, u).entries) for d, u in docs)

    def fp_alone() -> None:
        for p in prepared:
            media = "application/xml" + (f"; charset={p.charset}" if p.charset else "")
            feedparser.parse(
                io.BytesIO(p.data),
                response_headers={"content-type": media},
                **feed_module.FEEDPARSER_OPTIONS,
            )

    def fast_alone() -> None:
        for p in prepared:
            parse_clean(p.data, p.charset)

    def whole(fast: bool) -> Callable[[], None]:
        def run() -> None:
            real = feed_module.parse_clean
            if not fast:
                feed_module.parse_clean = lambda data, charset: FastResult(None, "off")  # type: ignore[assignment]
            try:
                for data, url in docs:
                    feed_module.parse_feed(data, url)
            finally:
                feed_module.parse_clean = real

        return run

    ways: dict[str, Callable[[], None]] = {
        "feedparser.parse (sanitizer off)": fp_alone,
        "fast path parse_clean (lxml)": fast_alone,
    }
    try:
        import fastfeedparser

        def ffp_alone() -> None:
            for p in prepared:
                with contextlib.suppress(ValueError):  # the sitemaps and the like
                    fastfeedparser.parse(p.data)

        ways["fastfeedparser.parse (reference, not used)"] = ffp_alone
    except ImportError:
        pass
    ways["parse_feed, feedparser for everything"] = whole(False)
    ways["parse_feed, fast path on"] = whole(True)

    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(args.repeat):
        for name, fn in ways.items():
            t = time.process_time()
            fn()
            times[name].append(time.process_time() - t)

    load = os.getloadavg()
    print(
        f"\n{len(files)} real feeds, {entries:,} entries, {args.repeat} runs, median CPU; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    print("| way | CPU (s) | per feed (ms) | vs feedparser |")
    print("| --- | ---: | ---: | ---: |")
    base = {
        "alone": statistics.median(times["feedparser.parse (sanitizer off)"]),
        "whole": statistics.median(times["parse_feed, feedparser for everything"]),
    }
    for name, runs in times.items():
        med = statistics.median(runs)
        anchor = base["whole"] if name.startswith("parse_feed") else base["alone"]
        print(
            f"| {name} | {med:.3f} | {med / len(files) * 1000:.2f} | {anchor / med:.1f}x faster |"
        )


if __name__ == "__main__":
    main()
