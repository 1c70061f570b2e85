"""Every command of the README's "Using it" section, run as written, on the real data.

The commands are read from the README itself, so an example that changes is tested as it
now reads.  Nothing touches the internet: the radar's only way out is a transport that
answers from the shared data (the real Lil'Log and colah feeds, a page that links the
first) and says 200 to anything else (the catalog's links); files the examples name
(``papers.jsonl.gz``, ``awesome-list.md``, ``feeds.opml``) are the real ones, linked into
the working directory under those names.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mlradar.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"

#: Commands that need more than this test gives them, with the reason and what runs instead.
INSTEAD = {
    # The full evaluation takes many minutes on two cores: its quick mode runs here, on a
    # slice of the corpus (the full run is benchmarks' business).  Its data paths default
    # to ../shared relative to the repository, where the README runs it; here they are given.
    "mlradar eval": ["eval", "--quick", "--limit-papers", "4000", "--per-kind", "2"],
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
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        content_type, body = self.routes.get(url, ("text/html", b"<html><body>ok</body></html>"))
        headers = {"content-type": content_type, "content-length": str(len(body))}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


@pytest.fixture
def transport(shared_data: Path) -> SharedDataTransport:
    return SharedDataTransport(shared_data)


@pytest.fixture
def workdir(
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    transport: SharedDataTransport,
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

    def make(settings: Any, policies: Any) -> Fetcher:
        return Fetcher(settings, policies=policies, transport=transport)

    opened = RadarCore.open.__func__  # type: ignore[attr-defined]

    def open_offline(cls: type[RadarCore], *args: Any, **kw: Any) -> RadarCore:
        kw.setdefault("fetcher_factory", make)
        return opened(cls, *args, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(RadarCore, "open", classmethod(open_offline))
    return tmp_path


def as_args(command: str, data: Path) -> list[str]:
    for written, instead in INSTEAD.items():
        if command == written:
            paths = ["--data", str(data / "arxiv" / "papers.jsonl.gz"), "--feeds"]
            return [*instead, *paths, str(data / "feeds")]
    args = shlex.split(command)[1:]
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
    assert any(u.startswith("https://lilianweng.github.io/") for u in transport.requests)
