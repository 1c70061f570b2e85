"""The core commands through the CLI: JSON output, messages, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar.cli import app
from tests.feedserver import FeedServer, serving

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Optimization notes</title>
<link>http://example.org/</link>
<item><title>Saddle points and gradient descent</title><guid>a</guid>
<link>http://example.org/a?utm_source=x</link><pubDate>Tue, 01 Jul 2025 00:00:00 GMT</pubDate>
<description>We discuss arXiv:2503.11677v2 and escaping saddles.</description></item>
<item><title>Diffusion, briefly</title><guid>b</guid><link>http://example.org/b</link>
<pubDate>Wed, 02 Jul 2025 00:00:00 GMT</pubDate><description>Score matching.</description></item>
</channel></rss>"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving(lambda s: s.add("/feed.xml", RSS)) as s:
        yield s


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    db = str(tmp_path / "radar.sqlite")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--db", db, *args])
        return result.exit_code, result.output

    return invoke


def test_add_update_search_stats(cli, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("sources", "add", server.url("/feed.xml"), "--tag", "opt", "--json")
    assert code == 0, out
    source = json.loads(out)
    assert source["title"] == "Optimization notes"
    assert source["tags"] == ["opt"]

    code, out = cli("update", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["total"] == {
        "sources": 1,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "not_modified": 0,
        "failed": 0,
        "deferred": 0,
        "warnings": 0,
    }

    code, out = cli("search", "saddle", "--json")
    assert cli("search", "saddle", "--json", "--exhaustive") == (code, out)
    hits = json.loads(out)
    assert [h["title"] for h in hits] == ["Saddle points and gradient descent"]
    assert hits[0]["url"] == "http://example.org/a"  # tracking parameters dropped

    code, out = cli("items", "--json")
    items = json.loads(out)
    assert [i["title"] for i in items] == [
        "Diffusion, briefly",
        "Saddle points and gradient descent",
    ]
    assert items[1]["arxiv_ids"] == ["2503.11677"]

    code, out = cli("stats", "--json")
    assert json.loads(out) | {} == {
        "sources": 1,
        "items": 2,
        "papers": 0,
        "tags": 1,
        "items_linked_to_papers": 1,
        "failing_sources": 0,
    }

    code, out = cli("sources", "tag", "1", "theory", "--remove", "opt", "--json")
    assert json.loads(out)["tags"] == ["theory"]
    code, out = cli("sources", "list", "--json")
    assert [s["item_count"] for s in json.loads(out)] == [2]
    code, out = cli("sources", "remove", "1")
    assert code == 0
    assert "removed source 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sources", "remove", "99"), "no such source"),
        (("search", '"'), "nothing to search for"),
        (("items", "--since", "yesterday-ish"), "not a date"),
        (("sources", "add", "ftp://example.org/feed"), "only http and https"),
    ],
)
def test_user_errors_are_one_line_messages(cli, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(*args)
    assert code == 1
    assert message in out
    assert "Traceback" not in out


def test_the_main_module_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlradar",
            "--db",
            str(tmp_path / "x.sqlite"),
            "sources",
            "remove",
            "7",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: 7: no such source"]


def test_update_of_named_sources_rejects_an_unknown_one(cli, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    cli("sources", "add", server.url("/feed.xml"))
    code, out = cli("update", "1", "--json")
    assert code == 0, out
    assert json.loads(out)["total"]["new"] == 2
    code, out = cli("update", "1", "42")
    assert code == 1
    assert "42: no such source" in out


def test_update_refuses_to_run_beside_a_worker(cli, server: FeedServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mlradar import RadarCore
    from mlradar._worker import runner_lock

    cli("sources", "add", server.url("/feed.xml"))
    before = len(server.requests)
    with RadarCore.open(str(tmp_path / "radar.sqlite")) as core, runner_lock(core) as held:
        assert held  # what a running `mlradar worker` holds
        code, out = cli("update")
        assert code == 1
        assert "an update is running now" in out and "Traceback" not in out
        assert len(server.requests) == before  # nothing was fetched beside it
    code, out = cli("update", "--json")
    assert code == 0, out
    assert json.loads(out)["total"]["new"] == 2
