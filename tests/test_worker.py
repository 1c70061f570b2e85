"""Scheduled work: due times decided on an injected clock, due updates and digests run,
the last run recorded, and two runners never at once against one database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlradar import RadarCore
from mlradar._config import Settings
from mlradar._connectors import (
    FetchContext,
    FetchResult,
    SourceRef,
    SourceSpec,
    default_registry,
)
from mlradar._storage import open_storage
from mlradar._worker import Worker, runner_lock, start_background
from mlradar._worker.runner import lock_path_for
from mlradar._worker.schedule import digest_due, digest_slot, next_slot, plan
from mlradar.cli import app
from mlradar.types import DigestSchedule
from tests.test_digests import FROM, Sink, smtp  # noqa: F401  (the fixture)
from tests.test_house import EchoConnector

# A Wednesday.
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


# -- deciding (pure) ---------------------------------------------------------------------------


def test_digest_slots_daily_and_weekly() -> None:
    daily = DigestSchedule("daily", hour=7, email="a@x.org")
    assert digest_slot(daily, NOW) == NOW.replace(hour=7, minute=0)
    assert digest_slot(daily, NOW.replace(hour=6)) == NOW.replace(hour=7, minute=0) - 24 * HOUR
    assert next_slot(daily, NOW) == NOW.replace(hour=7, minute=0) + 24 * HOUR
    monday = DigestSchedule("weekly", weekday=0, hour=7, email="a@x.org")
    assert digest_slot(monday, NOW) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    wednesday_late = DigestSchedule("weekly", weekday=2, hour=12, email="a@x.org")
    assert digest_slot(wednesday_late, NOW) == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert next_slot(wednesday_late, NOW) == datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert digest_slot(DigestSchedule("off"), NOW) is None


def test_a_digest_is_due_once_per_slot() -> None:
    daily = DigestSchedule("daily", hour=7, email="a@x.org")
    assert digest_due(daily, None, NOW)
    assert not digest_due(daily, NOW.replace(hour=8), NOW)  # sent after today's slot
    assert digest_due(daily, NOW - 24 * HOUR, NOW)  # yesterday's send: today's slot is due
    assert not digest_due(DigestSchedule("daily", hour=7), None, NOW)  # no address


def test_plan_updates_when_a_source_is_due_and_wakes_at_the_next_due_time() -> None:
    sch = [(1, DigestSchedule("daily", hour=11, email="a@x.org"))]
    p = plan(NOW, [NOW + HOUR, NOW + 10 * HOUR], sch, {1: NOW}, interval=timedelta(hours=5))
    # Nothing due: wake at today's 11:00 slot, before the first source is due.
    assert (p.update, p.digests, p.wake_at) == (False, (), NOW.replace(hour=11, minute=0))
    p = plan(NOW, [None, NOW + HOUR], [], {}, interval=timedelta(minutes=10))
    assert p.update and p.wake_at == NOW + timedelta(minutes=10)  # never fetched: due
    p = plan(NOW, [NOW - HOUR], sch, {}, interval=HOUR)
    assert p.update and p.digests == (1,)


# -- running ---------------------------------------------------------------------------------


class SlowConnector(EchoConnector):
    """``slow:X`` sources whose fetch waits until the test releases it."""

    kind = "slow"

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def parse_spec(self, text: str) -> SourceSpec | None:
        return SourceSpec(self.kind, text, title=text) if text.startswith("slow:") else None

    async def fetch(self, source: SourceRef, ctx: FetchContext) -> FetchResult:
        self.started.set()
        await asyncio.to_thread(self.release.wait, 30)
        return FetchResult(())


@pytest.fixture
def connectors() -> tuple[EchoConnector, SlowConnector]:
    return EchoConnector(), SlowConnector()


def _core(db_url: str, connectors: tuple[EchoConnector, SlowConnector], **kw: object) -> RadarCore:
    settings = Settings(database_url=db_url, allow_private_networks=True)
    registry = default_registry(settings, plugins=False)
    for c in connectors:
        registry.mount(c)
    return RadarCore.open(db_url, registry=registry, allow_private_networks=True, **kw)


@pytest.fixture
def core(db_url: str, connectors: tuple[EchoConnector, SlowConnector]) -> Iterator[RadarCore]:
    with _core(db_url, connectors) as c:
        yield c


def test_a_tick_runs_due_updates_and_records_the_run(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:zebra")
    assert core.last_update_run() is None
    now = datetime.now(UTC)
    worker = Worker(core, clock=lambda: now, interval=timedelta(minutes=5))
    first = worker.tick()
    assert first.update is not None and first.update.new == 1
    assert first.describe() == "updated 1 sources: 1 new, 0 updated, 0 failed"
    run = core.last_update_run()
    assert run is not None and (run.trigger, run.sources, run.new, run.ok) == ("worker", 1, 1, True)
    assert radar.last_update_run() == run  # what the sources page shows
    # Fetched: not due again until its interval has passed on the clock.
    assert worker.tick().update is None
    assert worker.wait_seconds() <= 300
    later = Worker(core, clock=lambda: now + timedelta(hours=2))
    assert later.tick().update is not None


def test_a_failing_source_is_in_the_run_record(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:boom")
    Worker(core).tick()
    run = core.last_update_run()
    assert run is not None and (run.failed, run.ok, run.error) == (1, False, None)


def test_a_cli_update_is_recorded_too(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:calm")
    radar.update()
    run = core.last_update_run()
    assert run is not None and run.trigger == "update" and run.new == 1


def test_a_due_digest_is_sent_once(
    db_url: str,
    connectors: tuple[EchoConnector, SlowConnector],
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    with _core(
        db_url,
        connectors,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from=FROM,
        embedding_model="none-installed-model-xyz",
    ) as c:
        ada = c.for_user(c.add_user("ada"))
        c.add_user("bob")  # no schedule: nothing for him
        ada.set_digest_schedule("daily", hour=0, email="ada@example.org")
        now = datetime.now(UTC)
        first = Worker(c, clock=lambda: now).tick()
        assert first.digests_sent == ("ada",) and first.problems == ()
        assert [m["To"] for m in sink.messages] == ["ada@example.org"]
        again = Worker(c, clock=lambda: now + timedelta(minutes=5)).tick()
        assert again.digests_sent == () and len(sink.messages) == 1
        (stored,) = ada.digests()
        assert stored.status == "sent"


def test_a_second_runner_skips_while_one_holds_the_lock(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:zebra")
    with runner_lock(core) as held:
        assert held
        result = Worker(core).tick()
        assert result.skipped and result.describe().startswith("another runner")
        assert core.last_update_run() is None  # it did nothing
    assert not Worker(core).tick().skipped


def test_two_runners_at_once_one_works_and_the_other_skips(
    db_url: str, connectors: tuple[EchoConnector, SlowConnector]
) -> None:
    _echo, slow = connectors
    with _core(db_url, connectors) as a, _core(db_url, connectors) as b:
        a.for_user(a.ensure_user("default")).add_source("slow:one")
        first = Worker(a)
        busy = threading.Thread(target=first.tick)
        busy.start()
        try:
            assert slow.started.wait(30), "the first runner never started fetching"
            second = Worker(b).tick()
            assert second.skipped
        finally:
            slow.release.set()
            busy.join(30)
        assert first.last is not None and not first.last.skipped
        assert first.last.update is not None and len(first.last.update.sources) == 1


def test_a_runner_in_another_process_holds_the_lock(core: RadarCore, tmp_path: Path) -> None:
    path = lock_path_for(core.settings.database_url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert Worker(core).tick().skipped
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits, and its lock goes with it
        holder.wait(30)
    assert not Worker(core).tick().skipped


def test_the_advisory_lock_is_taken_by_one_session_only(any_db_url: str) -> None:
    one, two = open_storage(any_db_url), open_storage(any_db_url)
    try:
        with one.try_advisory_lock(12345) as first:
            assert first
            with two.try_advisory_lock(12345) as second:
                # PostgreSQL: held by the other session; SQLite: the file lock does it.
                assert second is (one.dialect != "postgresql")
        with two.try_advisory_lock(12345) as again:
            assert again
    finally:
        one.close()
        two.close()


def test_the_background_worker_runs_and_stops(core: RadarCore) -> None:
    radar = core.for_user(core.ensure_user("default"))
    radar.add_source("echo:zebra")
    handle = start_background(core, interval=timedelta(seconds=1))
    try:
        for _ in range(600):  # a bare count: no clock in the assertion
            if handle.last is not None:
                break
            threading.Event().wait(0.05)
        assert handle.last is not None and handle.running
    finally:
        handle.stop()
    assert not handle.running
    run = core.last_update_run()
    assert run is not None and run.trigger == "serve"


def test_cli_worker_once(core: RadarCore, db_url: str) -> None:
    out = CliRunner().invoke(app, ["--db", db_url, "worker", "--once"])
    assert out.exit_code == 0, out.output
    assert "nothing due" in out.output
