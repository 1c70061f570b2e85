"""``mlradar digest``: the personal newsletter; ``digests``: the archive;
``digest-schedule``: when it is emailed."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    parse_since,
    print_json,
    radar,
    safe,
)


def register(app: typer.Typer) -> None:
    @app.command("digest")
    def digest(
        ctx: typer.Context,
        since: str | None = typer.Option(
            None,
            "--since",
            help="First day: YYYY-MM-DD, or 7d / 2w back (default: new since the last digest "
            "sent; the first time, the last week).",
        ),
        fmt: str = typer.Option("md", "--format", help="md (Markdown) or html."),
        send: bool = typer.Option(
            False, "--send", help="Email it (SMTP settings; to --to or the schedule's address)."
        ),
        to: str | None = typer.Option(None, "--to", help="The address to send it to."),
        limit: int = typer.Option(10, "--limit", "-n", min=1, help="Entries per section."),
        as_json: bool = JsonOption,
    ) -> None:
        """Your digest: top recommended papers, the most discussed stories, new posts from
        the blogs and newsletters you follow, and your learning path's next step, each
        with why it is there.  It is stored in the archive; a period is sent only once."""
        r = radar(ctx)
        if fmt not in ("md", "html"):
            raise typer.BadParameter("use md or html", param_hint="--format")
        composed = r.digest(since=parse_since(since), limit=limit)
        if send:
            stored = r.send_digest(composed, to=to)
            err_console.print(
                f"sent the digest of {stored.period} to {stored.recipient}", highlight=False
            )
        else:
            stored = r.save_digest(composed)
        if as_json:
            print_json(stored)
            return
        text = r.render_digest(stored, fmt)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")

    @app.command("digests")
    def digests(
        ctx: typer.Context,
        show: int | None = typer.Option(None, "--show", metavar="ID", help="Print one digest."),
        fmt: str = typer.Option("md", "--format", help="md or html, with --show."),
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        as_json: bool = JsonOption,
    ) -> None:
        """The archive of your digests, newest first (--show ID prints one)."""
        r = radar(ctx)
        if show is not None:
            found = r.digest_by_id(show)
            if as_json:
                print_json(found)
            else:
                sys.stdout.write(r.render_digest(found, fmt))
            return
        stored = r.digests(limit=limit)
        if as_json:
            print_json(stored)
            return
        if not stored:
            console.print("no digests yet (make one with `mlradar digest`)")
            return
        table = Table("id", "period", "entries", "status", "sent")
        for d in stored:
            sent = d.sent_at.strftime("%Y-%m-%d %H:%M") if d.sent_at else ""
            status: str = d.status or ""
            if d.error:
                status += f": {d.error}"
            table.add_row(str(d.id), d.period, str(d.entry_count), safe(status), sent)
        console.print(table)

    @app.command("digest-schedule")
    def digest_schedule(
        ctx: typer.Context,
        cadence: str | None = typer.Argument(
            None, help="off, daily or weekly (without it: show the schedule)."
        ),
        weekday: int = typer.Option(0, "--weekday", help="For weekly: 0 = Monday ... 6."),
        hour: int = typer.Option(7, "--hour", help="From this hour (UTC)."),
        email: str | None = typer.Option(None, "--email", help="Where to send it."),
        as_json: bool = JsonOption,
    ) -> None:
        """When your digest is emailed (by mlradar worker or serve)."""
        r = radar(ctx)
        if cadence is None:
            schedule = r.digest_schedule()
        else:
            schedule = r.set_digest_schedule(cadence, weekday=weekday, hour=hour, email=email)
        if as_json:
            print_json(schedule)
            return
        days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        when = {
            "off": "not emailed",
            "daily": f"daily from {schedule.hour:02d}:00 UTC",
            "weekly": f"weekly on {days[schedule.weekday]} from {schedule.hour:02d}:00 UTC",
        }[schedule.cadence]
        to = f" to {schedule.email}" if schedule.email and schedule.cadence != "off" else ""
        console.print(f"digest: {when}{to}", highlight=False)
