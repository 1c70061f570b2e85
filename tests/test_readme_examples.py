"""Every command of the README's "Using it" section, run as written, on the real data.

The commands are read from the README itself, so an example that changes is tested as it
now reads.  Nothing touches the internet: the radar's only way out is a transport that
answers from the shared data (the real Lil'Log and colah feeds, a page that links the
first) and says 200 to anything else (the catalog's links); files the examples name
(``papers.jsonl.gz``, ``awesome-list.md``, ``feeds.opml``) are the real ones, linked into
the working directory under those names.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mlradar.cli import app
from tests.connector_support import vcr_body

README = Path(__file__).resolve().parents[1] / "README.md"

#: Commands that need more than this test gives them, with the reason and what runs instead.
INSTEAD = {
    # The full evaluation takes many minutes on two cores: its quick mode runs here, on a
    # slice of the corpus (the full run is benchmarks' business).  Its data paths default
    # to ../shared relative to the repository, where the README runs it; here they are given.
    "mlradar eval": ["eval", "--quick", "--limit-papers", "4000", "--per-kind", "2"],
    # The worker runs until interrupted; its one pass is the same work.
    "mlradar worker": ["worker", "--once"],
}


def readme_commands() -> list[str]:
    """The ``mlradar ...`` lines of the "Using it" section's shell blocks, comments cut."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("mlradar "):
                commands.append(line)
    return commands


def test_the_readme_has_the_examples_this_test_knows() -> None:
    commands = readme_commands()
    assert len(commands) >= 20
    assert commands[0] == "mlradar sources add https://lilianweng.github.io/ --tag blogs"


class SharedDataTransport(httpx.AsyncBaseTransport):
    """Answers the examples' URLs from the shared data; 200 with a small page otherwise."""

    def __init__(self, data: Path) -> None:
        feeds = data / "feeds" / "blogs"
        self.routes: dict[str, tuple[str, bytes]] = {
            "https://lilianweng.github.io/": (
                "text/html",
                b'<html><head><title>Lil\'Log</title><link rel="alternate" '
                b'type="application/rss+xml" href="/index.xml"></head><body></body></html>',
            ),
            "https://lilianweng.github.io/index.xml": (
                "application/rss+xml",
                (feeds / "lilianweng" / "index.xml").read_bytes(),
            ),
            "https://colah.github.io/rss.xml": (
                "application/rss+xml",
                (feeds / "colah" / "rss.xml").read_bytes(),
            ),
        }
        # The other sources the README follows answer with what the services serve: real
        # recorded responses where the shared data has them, the connectors' fixtures else.
        fixtures = Path(__file__).parent / "fixtures"
        hn = data / "hackernews" / "firebase-items" / "topstories.json"
        hn_items = {str(i["id"]): json.dumps(i).encode() for i in json.loads(hn.read_text())[:8]}
        reddit = (
            data
            / "reddit"
            / "praw-cassettes"
            / "tests"
            / "integration"
            / "cassettes"
            / "TestSubredditListings.test_hot.json"
        )
        listing = json.loads(reddit.read_text())["interactions"][1]["response"]["body"]
        self.patterns: list[tuple[re.Pattern[str], str, bytes]] = [
            (
                re.compile(r"https://bsky\.app/profile/[^/]+/rss$"),
                "application/rss+xml",
                (fixtures / "social" / "bluesky-profile.rss").read_bytes(),
            ),
            (
                re.compile(r"https://sigmoid\.social/@karpathy\.rss$"),
                "application/rss+xml",
                (fixtures / "social" / "mastodon-profile.rss").read_bytes(),
            ),
            (
                re.compile(r"https://api2\.openreview\.net/notes\?.*offset=0\b"),
                "application/json",
                (fixtures / "openreview" / "iclr2025-accepted-offset0.json").read_bytes(),
            ),
            (
                re.compile(r"https://api2\.openreview\.net/notes\?"),
                "application/json",
                (fixtures / "openreview" / "iclr2025-accepted-offset2.json").read_bytes(),
            ),
            (
                re.compile(r"https://proceedings\.mlr\.press/v\d+/?$"),
                "text/html",
                (fixtures / "pmlr" / "v267-index.html").read_bytes(),
            ),
            (
                re.compile(r"https://hacker-news\.firebaseio\.com/v0/\w+stories\.json$"),
                "application/json",
                json.dumps([int(i) for i in hn_items]).encode(),
            ),
            (
                re.compile(r"https://hn\.algolia\.com/api/v1/search"),
                "application/json",
                (fixtures / "hackernews" / "algolia-search.json").read_bytes(),
            ),
            (
                re.compile(r"https://www\.reddit\.com/r/[^/]+/\w+\.json\?"),
                "application/json",
                listing["string"].encode() if isinstance(listing, dict) else listing.encode(),
            ),
            (
                re.compile(r"https://www\.youtube\.com/@[^/]+/?$"),
                "text/html",
                # The fixture is Two Minute Papers' page; the README follows Yannic Kilcher
                # (the beginner profile already follows the first).
                (fixtures / "youtube" / "channel-page.html")
                .read_bytes()
                .replace(b"UCbfYPyITQ-7l4upoX8nvctg", b"UCZHmQk67mSJgfCCTn7xBfew"),
            ),
            (
                re.compile(r"https://www\.youtube\.com/feeds/videos\.xml\?"),
                "application/atom+xml",
                (fixtures / "youtube" / "channel-videos.xml").read_bytes(),
            ),
            (
                re.compile(r"https://thesequence\.substack\.com/feed$"),
                "application/rss+xml",
                (fixtures / "newsletters" / "substack.xml").read_bytes(),
            ),
            (
                re.compile(r"https://thesequence\.substack\.com/$"),
                "text/html",
                b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed">'
                b"</head><body></body></html>",
            ),
        ]
        s2 = data / "semanticscholar" / "tests" / "data"
        self.patterns += [
            (
                re.compile(rf"https://api\.semanticscholar\.org/{path}"),
                "application/json",
                body.encode(),
            )
            for path, body in [
                (
                    r"graph/v1/paper/[^/?]+/references",
                    _cassette(s2, "test_get_paper_references.yaml"),
                ),
                (
                    r"graph/v1/paper/[^/?]+/citations",
                    _cassette(s2, "test_get_paper_citations.yaml"),
                ),
                (r"recommendations/", _cassette(s2, "test_get_recommended_papers.yaml")),
                (r"graph/v1/paper/", (s2 / "Paper.json").read_text("utf-8")),
            ]
        ]
        self.hn_items = hn_items
        self.requests: list[str] = []

    def answer(self, url: str) -> tuple[str, bytes]:
        if url in self.routes:
            return self.routes[url]
        item = re.fullmatch(r"https://hacker-news\.firebaseio\.com/v0/item/(\d+)\.json", url)
        if item and item.group(1) in self.hn_items:
            return "application/json", self.hn_items[item.group(1)]
        for pattern, content_type, body in self.patterns:
            if pattern.search(url):
                return content_type, body
        return "text/html", b"<html><body>ok</body></html>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        content_type, body = self.answer(url)
        headers = {"content-type": content_type, "content-length": str(len(body))}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


def _cassette(data: Path, name: str) -> str:
    return vcr_body(data / name)


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """An SMTP server on loopback for ``digest --send``; what it receives is dropped."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def transport(shared_data: Path) -> SharedDataTransport:
    return SharedDataTransport(shared_data)


@pytest.fixture
def workdir(
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    transport: SharedDataTransport,
    smtp_port: int,
) -> Path:
    from mlradar._fetch import Fetcher
    from mlradar._radar import RadarCore
    from mlradar.cli import _common

    (tmp_path / "papers.jsonl.gz").symlink_to(shared_data / "arxiv" / "papers.jsonl.gz")
    (tmp_path / "awesome-list.md").symlink_to(
        shared_data / "lists" / "awesome-machine-learning" / "courses.md"
    )
    (tmp_path / "feeds.opml").symlink_to(shared_data / "lists" / "ai-news-opml" / "ai.opml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLRADAR_DATABASE_URL", f"sqlite:///{tmp_path / 'radar.sqlite'}")
    monkeypatch.setattr(_common.console, "_width", 160)
    # Email for `digest --send` goes to the loopback server; Semantic Scholar's pause
    # between calls is the client's politeness, which this test need not wait out.
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "radar@example.org",
        "S2_INTERVAL_SECONDS": "0",
    }.items():
        monkeypatch.setenv(f"MLRADAR_{name}", value)

    def make(settings: Any, policies: Any) -> Fetcher:
        return Fetcher(settings, policies=policies, transport=transport)

    opened = RadarCore.open.__func__  # type: ignore[attr-defined]

    def open_offline(cls: type[RadarCore], *args: Any, **kw: Any) -> RadarCore:
        kw.setdefault("fetcher_factory", make)
        return opened(cls, *args, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(RadarCore, "open", classmethod(open_offline))
    return tmp_path


def as_args(command: str, data: Path) -> list[str]:
    if command == "mlradar eval":
        paths = ["--data", str(data / "arxiv" / "papers.jsonl.gz"), "--feeds"]
        return [*INSTEAD[command], *paths, str(data / "feeds")]
    if command in INSTEAD:
        return INSTEAD[command]
    args = shlex.split(command)[1:]
    if ">" in args:  # the shell's redirection: the test reads the output instead
        args = args[: args.index(">")]
    if args[:3] == ["--user", "alice", "sources"] and args[-1] == "...":
        # The README elides the URL: alice follows a real one of the examples.
        return ["--user", "alice", "sources", "add", "https://colah.github.io/rss.xml"]
    return args


@pytest.mark.slow
def test_every_readme_example_runs_as_written(
    workdir: Path, transport: SharedDataTransport, shared_data: Path
) -> None:
    runner = CliRunner()
    commands = readme_commands()
    # `user add alice` comes before `--user alice ...` in the prose that holds them.
    prose = [
        "mlradar sources export --opml",  # named in a comment of the last block
        "mlradar user add alice",
        "mlradar --user alice sources add ...",
    ]
    outputs: dict[str, str] = {}
    for command in [*commands, *prose]:
        result = runner.invoke(app, as_args(command, shared_data))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{command}: {result.exception!r}") from result.exception
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert "Traceback" not in result.output
        outputs[command] = result.output

    items = outputs["mlradar items -n 10"]
    assert "Lil" in items or "colah" in items.lower(), items
    imported = outputs["mlradar arxiv import papers.jsonl.gz --categories 'cs.LG,cs.CL,stat.ML'"]
    assert re.search(r"imported [\d,]+ papers from 74,728 lines", imported), imported
    assert "Debiasing Diffusion Model" in outputs["mlradar paper arXiv:2503.12536v1"]
    bib = (workdir / "diffusion.bib").read_text(encoding="utf-8")
    assert "2503.12536" in bib and "2503.12131" in bib
    assert "wrote 2 entries" in outputs["mlradar export bibtex --tag diffusion -o diffusion.bib"]
    assert "<opml" in outputs["mlradar sources export --opml"]
    assert "sent the digest of" in outputs["mlradar digest --send --to you@example.org"]
    assert "<feed" in outputs["mlradar feeds atom tag diffusion > diffusion.atom"]
    assert "failed:" not in outputs["mlradar enrich 2503.11677 --tag diffusion"]
    for host in (
        "bsky.app",
        "sigmoid.social",
        "api2.openreview.net",
        "proceedings.mlr.press",
        "hacker-news.firebaseio.com",
        "hn.algolia.com",
        "www.reddit.com",
        "www.youtube.com",
        "thesequence.substack.com",
        "api.semanticscholar.org",
    ):
        assert any(f"://{host}/" in u for u in transport.requests), host
    assert any(u.startswith("https://lilianweng.github.io/") for u in transport.requests)
