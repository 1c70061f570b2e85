"""The ``mlradar`` command line: a thin adapter over :class:`mlradar.Radar`.

Each command group lives in its own module with a ``register(app)`` function.  Errors
the library raises on purpose (:class:`~mlradar.exceptions.RadarError`) become a
one-line message and exit code 1; an interrupt keeps what was finished and exits 130.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from mlradar.cli import (
    arxiv,
    browse,
    catalog,
    digest,
    enrich,
    feeds,
    library,
    serve,
    sources,
    stories,
    users,
    worker,
)
from mlradar.cli._common import CliState, err_console, plain_help_labels, safe
from mlradar.exceptions import RadarError


class _RadarGroup(TyperGroup):
    """Turns the library's deliberate errors into a one-line message and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        try:
            return super().invoke(ctx)
        except RadarError as exc:
            # The message often quotes input (a URL, a title): escaped, it prints as written.
            err_console.print(f"[red]error:[/red] {safe(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None


plain_help_labels()

app = typer.Typer(
    cls=_RadarGroup,
    name="mlradar",
    help="A self-hosted radar for machine-learning research: feeds, arXiv, search, ranking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        from mlradar._version import __version__

        typer.echo(f"mlradar {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the version and exit.",
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        metavar="URL",
        help="Database URL or SQLite path (default: $MLRADAR_DATABASE_URL, the config file, "
        "else SQLite in the user data directory).",
    ),
    user: str | None = typer.Option(
        None, "--user", help="Whose library, tags and progress to use (default: 'default')."
    ),
) -> None:
    ctx.obj = CliState(db, user)


for module in (
    sources,
    browse,
    catalog,
    arxiv,
    library,
    users,
    stories,
    serve,
    digest,
    feeds,
    worker,
    enrich,
):
    module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted: everything finished so far is kept; run again to resume")
        sys.exit(130)
