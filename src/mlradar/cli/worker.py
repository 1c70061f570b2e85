"""``mlradar worker``: run due updates and due digests on a schedule, apart from ``serve``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer

from mlradar.cli._common import core, err_console

if TYPE_CHECKING:
    from mlradar._worker import TickResult


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        ctx: typer.Context,
        once: bool = typer.Option(False, "--once", help="Do what is due now, then exit."),
        interval: float | None = typer.Option(
            None,
            "--interval",
            min=1,
            help="Longest wait between looks, in seconds (default: worker_interval_seconds).",
        ),
    ) -> None:
        """Run the due updates and the due digest emails, until interrupted.  Two runners
        (workers, or serve) never run at once on one database: the second skips."""
        from mlradar._worker import Worker

        runner = Worker(
            core(ctx), interval=None if interval is None else timedelta(seconds=interval)
        )

        def say(result: TickResult) -> None:
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
            err_console.print(f"{stamp} {result.describe()}", highlight=False)

        if once:
            say(runner.tick())
            return
        stop = threading.Event()
        try:
            runner.run(stop, on_tick=say)
        except KeyboardInterrupt:
            stop.set()
            err_console.print("worker stopped")
