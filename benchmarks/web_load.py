"""Load on the web app: the queue page, the search API and a paper page, with wrk.

Targets: the queue page ("for you" and "new"), the search API, a paper page and a story
page.  The radar is the real corpus (``../shared/data/arxiv/papers.jsonl.gz``, 74,728 papers,
imported through the product) plus the real feeds of ``../shared/data/feeds`` (served on
loopback, followed and fetched through the product), for one user who tagged a few
papers so that "for you" ranks.  The app runs as ``mlradar serve`` (one uvicorn process,
one core) in local mode on loopback; wrk (Debian's) loads it from this machine.  The
anchor, measured in the same run, is ``/api/v1/me``: the app with no data work, the
framework's ceiling on this machine.

    python benchmarks/web_load.py --work /tmp/mlradar-web-bench --seconds 20 --connections 16

``build`` happens on the first run (a few minutes) and is reused after.  Prints one JSON
object: for each target, requests/s, p50 and p99 latency (ms), non-2xx responses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
USER = "bench"
TAGGED_QUERY = "diffusion"
SEARCHES = [
    "diffusion",
    "language model",
    '"reinforcement learning"',
    "transformer attention",
    "graph neural",
    "retrieval augmented",
    "vision -language",
    "robot*",
    "speech OR audio",
    "benchmark evaluation",
]


def feed_files() -> list[Path]:
    feeds = DATA / "feeds"
    files = [
        feeds / "blogs/lilianweng/index.xml",
        feeds / "blogs/colah/rss.xml",
        feeds / "blogs/offconvex/_site/feed.xml",
        feeds / "blogs/yang-song/feed.xml",
        feeds / "blogs/jakevdp/feeds/all.atom.xml",
    ]
    files += sorted((feeds / "labs").rglob("*.xml"))
    files += sorted((feeds / "hf-daily-papers").glob("*.xml"))
    return [f for f in files if f.exists()]


def serve_feeds() -> tuple[Any, list[Path]]:
    """The feeds of :func:`feed_files` on a loopback server (``/<n>/<file name>``), running
    in a thread until its ``_server.shutdown()``."""
    from tests.feedserver import FeedServer

    server = FeedServer()
    files = feed_files()
    for i, f in enumerate(files):
        server.add(f"/{i}/{f.name}", f.read_bytes())
    threading.Thread(target=server._server.serve_forever, daemon=True).start()
    return server, files


def build(work: Path) -> str:
    """The radar, made once: corpus, feeds, ranking index, a few tags."""
    from mlradar import RadarCore

    db = work / "radar.sqlite"
    url = f"sqlite:///{db}"
    if (work / "built").exists():
        return url
    work.mkdir(parents=True, exist_ok=True)
    server, files = serve_feeds()
    start = time.perf_counter()
    # Each stage is skipped when an earlier run did it (the import alone takes minutes).
    with RadarCore.open(url, allow_private_networks=True) as core:
        core.ensure_user(USER)
        radar = core.for_user(USER)
        if not (work / "imported").exists():
            summary = radar.import_arxiv_snapshot(DATA / "arxiv" / "papers.jsonl.gz")
            print(f"imported {summary.papers} papers", file=sys.stderr)
            (work / "imported").touch()
        if not radar.sources():
            for i, f in enumerate(files):
                radar.add_source(server.url(f"/{i}/{f.name}"), discover=False)
            update = radar.update()
            print(f"feeds {len(files)}, new items {update.new}", file=sys.stderr)
        core.sync_rank_index()
        hits = radar.search(TAGGED_QUERY, limit=200)
        papers = [h.ref for h in hits if h.kind == "paper"][:6]
        radar.tag("bench", papers)
    server._server.shutdown()
    (work / "built").write_text(f"{time.perf_counter() - start:.0f} s\n")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "req_per_s": float(rps.group(1)) if rps else 0.0,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mlradar-web-bench"))
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--cache-seconds", type=float, default=10.0, help="the server's view cache (0: off)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    url = build(args.work)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlradar",
            "--db",
            url,
            "--user",
            USER,
            "serve",
            "--port",
            str(port),
            "--cache-seconds",
            str(args.cache_seconds),
            # The feeds' loopback server is gone after the build: a background update
            # would only record failures beside the load.
            "--no-worker",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(base + "/api/v1/me", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        # The first request trains the user's model: it takes a while.
        httpx.get(base + "/api/v1/recommend", timeout=600).raise_for_status()
        hits = httpx.get(base + "/api/v1/search", params={"q": "diffusion", "limit": 50}).json()
        paper = {"arxiv_id": next(h["ref"] for h in hits["items"] if h["kind"] == "paper")}
        # The most discussed story: a paper with mentions in several of the feeds.
        story = httpx.get(
            base + "/api/v1/stories", params={"sort": "discussed", "limit": 1}, timeout=120
        ).json()["items"][0]["id"]
        targets = {
            "anchor /api/v1/me": base + "/api/v1/me",
            "queue page / (for you)": base + "/",
            "queue page /?tab=new": base + "/?tab=new",
            "search API /api/v1/search": base + "/api/v1/search?q=diffusion",
            "paper page /paper/ID": f"{base}/paper/{paper['arxiv_id']}",
            "story page /story/ID": f"{base}/story/{story}",
        }
        for name, target in targets.items():  # warm every path once
            assert httpx.get(target, timeout=60).status_code == 200, name
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "search.lua"
            from urllib.parse import quote_plus

            quoted = ", ".join(json.dumps("/api/v1/search?q=" + quote_plus(q)) for q in SEARCHES)
            script.write_text(
                f"local paths = {{{quoted}}}\nlocal i = 0\n"
                "request = function()\n  i = i + 1\n"
                "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
            )
            results = {}
            for name, target in targets.items():
                lua = script if name.startswith("search") else None
                results[name] = wrk(target, args.seconds, args.connections, lua)
        anchor = results["anchor /api/v1/me"]["req_per_s"]
        for r in results.values():
            r["ratio_to_anchor"] = round(r["req_per_s"] / anchor, 3) if anchor else None
        print(
            json.dumps(
                {
                    "paper": paper["arxiv_id"],
                    "story": story,
                    "seconds": args.seconds,
                    "connections": args.connections,
                    "cache_seconds": args.cache_seconds,
                    "load_average": os.getloadavg(),
                    "results": results,
                },
                indent=2,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
