"""``serve`` runs the due updates in the background (the app's lifespan starts and stops
the worker), and under the runners' lock a separate ``mlradar worker`` and serve never
run at once: whichever comes second skips.  Every fetch goes to the loopback feed server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mlradar import RadarCore
from mlradar._config import Settings
from mlradar._connectors import default_registry
from mlradar._worker import BackgroundWorker, runner_lock
from mlradar.cli import app as cli
from mlradar.web import WebSettings, create_app
from tests.feedserver import FeedServer
from tests.test_worker import SlowConnector
from tests.web.support import Harness, feed


def wait_for(done: Callable[[], bool]) -> None:
    """Poll until ``done()``, a bounded number of times (no clock in any assertion)."""
    for _ in range(600):
        if done():
            return
        threading.Event().wait(0.05)
    raise AssertionError("the background worker did nothing")


@contextmanager
def open_core(db_url: str, **kw: Any) -> Iterator[RadarCore]:
    with RadarCore.open(
        db_url,
        allow_private_networks=True,
        embedding_model="none-installed-model-xyz",
        worker_interval_seconds=1,
        **kw,
    ) as core:
        yield core


def handle_of(client: TestClient) -> BackgroundWorker:
    handle = client.app.state.worker  # type: ignore[attr-defined]
    assert isinstance(handle, BackgroundWorker)
    return handle


def test_serve_runs_the_due_updates_in_the_background(web_db: str, feed_server: FeedServer) -> None:
    url = feed_server.add("/due-for-serve.xml", feed("Due for serve", feed_server.base))
    with open_core(web_db) as core:
        added = core.for_user("alice").add_source(url, name="due now")
        assert added.state.last_fetched_at is None  # adding looked at it, fetched nothing
        probes = len(feed_server.seen("/due-for-serve.xml"))
        app = create_app(core, WebSettings(worker=True))
        with TestClient(app) as client:  # runs the lifespan: the worker starts
            handle = handle_of(client)
            wait_for(lambda: handle.last is not None)
            assert handle.running and not handle.last.skipped  # type: ignore[union-attr]
            assert len(feed_server.seen("/due-for-serve.xml")) > probes
            assert core.for_user("alice").source(added.id).state.last_fetched_at is not None
            run = core.last_update_run()
            assert run is not None and run.trigger == "serve" and run.ok
            page = Harness(core, app, feed_server).login("alice").get("/sources").text
            assert "fetches the sources that are due in the background" in page
            assert "(by serve)" in page
        assert not handle.running  # stopped with the app


def test_an_app_without_the_worker_setting_starts_none(web_db: str) -> None:
    with open_core(web_db) as core, TestClient(create_app(core)) as client:
        assert client.app.state.worker is None  # type: ignore[attr-defined]


def test_serve_skips_while_a_worker_holds_the_lock_and_works_after(
    web_db: str, feed_server: FeedServer
) -> None:
    url = feed_server.add("/held.xml", feed("Held", feed_server.base))
    with open_core(web_db) as core:
        core.for_user("alice").add_source(url, name="held")
        probes = len(feed_server.seen("/held.xml"))
        app = create_app(core, WebSettings(worker=True))
        with runner_lock(core) as held:  # what a running `mlradar worker` holds
            assert held
            with TestClient(app) as client:
                handle = handle_of(client)
                wait_for(lambda: handle.last is not None)
                assert handle.last is not None and handle.last.skipped
            assert len(feed_server.seen("/held.xml")) == probes  # it did nothing
        with TestClient(app) as client:  # the other runner is gone: serve does the work
            handle = handle_of(client)
            wait_for(lambda: handle.last is not None)
            assert handle.last is not None and not handle.last.skipped
        assert len(feed_server.seen("/held.xml")) > probes


def test_a_worker_skips_while_serve_is_updating(web_db: str) -> None:
    slow = SlowConnector()
    registry = default_registry(Settings(database_url=web_db), plugins=False)
    registry.mount(slow)
    with open_core(web_db, registry=registry) as core:
        core.for_user("alice").add_source("slow:one")
        with TestClient(create_app(core, WebSettings(worker=True))):
            try:
                assert slow.started.wait(30), "serve's worker never started fetching"
                out = CliRunner().invoke(cli, ["--db", web_db, "worker", "--once"])
                assert out.exit_code == 0, out.output
                assert "another runner is working on this database: skipped" in out.output
            finally:
                slow.release.set()
        run = core.last_update_run()
        assert run is not None and run.trigger == "serve"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, True),
        (["--no-worker"], {}, False),
        ([], {"MLRADAR_SERVE_WORKER": "false"}, False),
        (["--worker"], {"MLRADAR_SERVE_WORKER": "false"}, True),
    ],
)
def test_serve_worker_flag_and_setting(
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    expected: bool,
) -> None:
    import uvicorn

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = CliRunner().invoke(cli, ["--db", db_url, "serve", *args])
    assert out.exit_code == 0, out.output
    (app,) = served
    assert app.state.web.worker is expected
    said = "due updates run in the background" if expected else "no scheduled updates"
    assert said in out.output
