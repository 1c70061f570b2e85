"""Link health: the pure decisions, and checks against loopback servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from mlradar._catalog import health
from mlradar._catalog.health import Probe, classify, host_policies
from mlradar._config import load_settings
from mlradar._radar import Radar, make_radar
from mlradar.cli import app

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("probe", "status", "new_url"),
    [
        (Probe("https://a.example/x", 200, "https://a.example/x"), "ok", None),
        (Probe("https://a.example/x", 404), "gone", None),
        (Probe("https://a.example/x", 410), "gone", None),
        (Probe("https://a.example/x", error="timed out after 20 s"), "unreachable", None),
        (Probe("https://a.example/x", 403), "unreachable", None),
        (Probe("https://a.example/x", 503), "unreachable", None),
        # A permanent move to another address.
        (
            Probe(
                "http://old.example/", 200, "https://new.example/", ((301, "https://new.example/"),)
            ),
            "moved",
            "https://new.example/",
        ),
        # The same resource over https, with www. and a trailing slash: not a move.
        (
            Probe(
                "http://a.example/blog",
                200,
                "https://www.a.example/blog/",
                ((301, "https://a.example/blog"), (308, "https://www.a.example/blog/")),
            ),
            "ok",
            None,
        ),
        # Temporary redirects leave the resource where it is.
        (
            Probe(
                "https://a.example/x",
                200,
                "https://a.example/x?lang=en",
                ((302, "https://a.example/x?lang=en"),),
            ),
            "ok",
            None,
        ),
        # The permanent hop counts, the temporary hop after it does not.
        (
            Probe(
                "https://a.example/x",
                200,
                "https://b.example/y?session=1",
                ((301, "https://b.example/y"), (302, "https://b.example/y?session=1")),
            ),
            "moved",
            "https://b.example/y",
        ),
        # A deleted post redirected to the blog's home page.
        (
            Probe(
                "https://a.example/2019/01/post.html",
                200,
                "https://a.example/",
                ((301, "https://a.example/"),),
            ),
            "gone",
            None,
        ),
        # A dead domain now parked for sale.
        (
            Probe(
                "https://dead.example/",
                200,
                "https://www.hugedomains.com/domain_profile.cfm?d=dead",
                ((302, "https://www.hugedomains.com/domain_profile.cfm?d=dead"),),
            ),
            "gone",
            None,
        ),
        (
            Probe(
                "https://a.example/x",
                200,
                "https://a.example/login?next=/x",
                ((301, "https://a.example/login?next=/x"),),
            ),
            "unreachable",
            None,
        ),
        # A blog root moved to another root is a move, not a deleted page.
        (
            Probe(
                "http://www.wildml.com/",
                200,
                "https://dennybritz.com/",
                ((301, "https://dennybritz.com/"),),
            ),
            "moved",
            "https://dennybritz.com/",
        ),
    ],
)
def test_classify(probe: Probe, status: str, new_url: str | None) -> None:
    result = classify(probe, NOW)
    assert (result.status, result.new_url) == (status, new_url)
    assert result.checked_at == NOW
    assert (result.error is None) == (status in ("ok", "moved"))


def test_politeness_policies() -> None:
    settings = load_settings()
    policies = host_policies(
        settings, ["https://a.example/x", "https://a.example/y", "https://arxiv.org/abs/1"]
    )
    assert policies["a.example"].max_connections == health.PER_HOST_CONNECTIONS
    assert policies["a.example"].min_interval == health.PER_HOST_INTERVAL
    # arXiv keeps its own, stricter rule.
    assert policies["arxiv.org"].max_connections == 1
    assert policies["arxiv.org"].min_interval >= 3.0


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


class SilentServer(int):
    """The port of a server that accepts connections and never answers; ``accepted``
    counts the connections it took."""

    accepted: list[object]


@pytest.fixture
def silent_port() -> Iterator[SilentServer]:
    """A port that accepts connections and never answers (a hung server)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = SilentServer(sock.getsockname()[1])
    port.accepted = held  # type: ignore[assignment]
    yield port
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    sock.close()


def loopback_radar(db_url: str) -> Radar:
    return make_radar(db_url, allow_private_networks=True)


def test_check_against_loopback_servers(
    server: HTTPServer, silent_port: SilentServer, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "PER_HOST_INTERVAL", 0.0)
    server.expect_request("/ok").respond_with_data("fine")
    server.expect_request("/head-refused", method="HEAD").respond_with_data("", status=405)
    server.expect_request("/head-refused", method="GET").respond_with_data("fine")
    server.expect_request("/old-home").respond_with_data(
        "", status=301, headers={"Location": server.url_for("/new-home")}
    )
    server.expect_request("/new-home").respond_with_data("here now")
    server.expect_request("/gone").respond_with_data("", status=410)
    server.expect_request("/missing").respond_with_data("", status=404)
    server.expect_request("/2019/01/deleted-post.html").respond_with_data(
        "", status=301, headers={"Location": server.url_for("/")}
    )
    server.expect_request("/").respond_with_data("home")
    server.expect_request("/temporary").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/ok")}
    )
    server.expect_request("/forbidden").respond_with_data("", status=403)
    dead = f"http://127.0.0.1:{silent_port}/hangs"
    links = {
        "ok": server.url_for("/ok"),
        "head-refused": server.url_for("/head-refused"),
        "moved": server.url_for("/old-home"),
        "gone": server.url_for("/gone"),
        "missing": server.url_for("/missing"),
        "deleted-post": server.url_for("/2019/01/deleted-post.html"),
        "temporary": server.url_for("/temporary"),
        "forbidden": server.url_for("/forbidden"),
        "hangs": dead,
    }
    text = "".join(f"* [{name}]({url}) - test link\n" for name, url in links.items())
    with loopback_radar(db_url) as radar:
        radar.import_markdown_text(text, origin="loopback")
        results = radar.check_links(list(links), timeout=1.0)
        got = {c.slug: (c.link.status, c.link.new_url) for c in results}
        assert got == {
            "ok": ("ok", None),
            "head-refused": ("ok", None),
            "moved": ("moved", server.url_for("/new-home")),
            "gone": ("gone", None),
            "missing": ("gone", None),
            "deleted-post": ("gone", None),
            "temporary": ("ok", None),
            "forbidden": ("unreachable", None),
            "hangs": ("unreachable", None),
        }
        # The hung server costs one timeout, not one per method: HEAD timed out, and no GET
        # was tried on a second connection.
        assert len(silent_port.accepted) == 1
        hangs = next(c for c in results if c.slug == "hangs")
        assert hangs.link.error is not None
        assert "timed out" in hangs.link.error
        assert next(c for c in results if c.slug == "gone").link.http_status == 410
        # Results are stored with their date, and shown by the catalog.
        stored = {e.slug: e for e in radar.catalog(status="moved")}
        assert list(stored) == ["moved"]
        assert stored["moved"].best_url == server.url_for("/new-home")
        assert stored["moved"].link is not None
        assert (datetime.now(UTC) - stored["moved"].link.checked_at).total_seconds() < 60
        # A moved entry is also known at its new address: importing that finds it.
        again = radar.import_markdown_text(f"* [x]({server.url_for('/new-home')})", origin="b")
        assert (again.added, again.merged) == (0, 1)


def test_per_host_politeness(
    server: HTTPServer, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "PER_HOST_INTERVAL", 0.1)
    lock = threading.Lock()
    in_flight = [0]
    peak = [0]
    starts: list[float] = []

    def slow(request: Request) -> Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            starts.append(time.monotonic())
        time.sleep(0.15)
        with lock:
            in_flight[0] -= 1
        return Response("ok")

    for i in range(6):
        server.expect_request(f"/page{i}").respond_with_handler(slow)
    text = "".join(f"* [page {i}]({server.url_for(f'/page{i}')})\n" for i in range(6))
    with loopback_radar(db_url) as radar:
        radar.import_markdown_text(text, origin="loopback")
        results = radar.check_links([f"page-{i}" for i in range(6)], concurrency=8, timeout=5)
    assert [c.link.status for c in results] == ["ok"] * 6
    assert peak[0] <= health.PER_HOST_CONNECTIONS
    # Starts are spaced by the host's interval; the span is robust to scheduling jitter.
    span = max(starts) - min(starts)
    assert span >= 5 * 0.1 * 0.9


def test_cli_check_json(
    server: HTTPServer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "PER_HOST_INTERVAL", 0.0)
    monkeypatch.setenv("MLRADAR_ALLOW_PRIVATE_NETWORKS", "1")
    server.expect_request("/ok").respond_with_data("fine")
    server.expect_request("/gone").respond_with_data("", status=410)
    listing = tmp_path / "list.md"
    listing.write_text(
        f"# Links\n* [Alive]({server.url_for('/ok')})\n* [Dead]({server.url_for('/gone')})\n"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db_url, "catalog", "import", str(listing), "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["--db", db_url, "catalog", "check", "alive", "dead", "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)
    assert [(c["slug"], c["link"]["status"]) for c in checks] == [("alive", "ok"), ("dead", "gone")]
    result = runner.invoke(app, ["--db", db_url, "catalog", "--status", "gone", "--json"])
    listed = {e["slug"]: e for e in json.loads(result.stdout)}
    assert listed["dead"]["link"]["http_status"] == 410
    # Resources the built-in catalog knows are gone are listed too, without a check.
    assert listed["wildml-newsletter"]["link"] is None
    assert set(listed) == {
        "dead",
        "wildml-newsletter",
        "the-neural-perspective",
        "floydhub",
        "spell",
        "software-2-stack-karpathy",
    }


def test_unsafe_urls_are_refused_without_the_setting(db_url: str, server: HTTPServer) -> None:
    server.expect_request("/ok").respond_with_data("fine")
    with make_radar(db_url) as radar:
        radar.import_markdown_text(f"* [Local]({server.url_for('/ok')})", origin="x")
        [check] = radar.check_links(["local"], timeout=2)
    assert check.link.status == "unreachable"
    assert check.link.error is not None
