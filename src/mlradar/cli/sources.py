"""``mlradar sources ...`` and ``mlradar update``."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlradar.cli._common import JsonOption, console, err_console, print_json, radar, to_jsonable
from mlradar.types import Source, SourceUpdate, UpdateSummary

sources_app = typer.Typer(help="Follow, list, tag and remove sources.", no_args_is_help=True)


def _source_row(s: Source) -> list[str]:
    st = s.state
    status = "never fetched" if st.last_fetched_at is None else str(st.last_status or "-")
    if st.consecutive_errors:
        status = f"[red]{st.consecutive_errors} error(s): {escape(st.last_error or '')}[/red]"
    if st.last_warning:
        # A cap that dropped entries, a charset repaired, a deferral: the user must see it.
        status += f"\n[yellow]warning: {escape(st.last_warning)}[/yellow]"
    return [str(s.id), s.display_name, s.kind, s.url, ", ".join(s.tags), str(s.item_count), status]


@sources_app.command("add")
def add(
    ctx: typer.Context,
    url: str = typer.Argument(
        ..., help="A feed URL, a web page with a feed, or arxiv:CATEGORIES / arxiv:QUERY."
    ),
    name: str | None = typer.Option(None, "--name", help="A display name."),
    tag: list[str] = typer.Option([], "--tag", help="Tag the source (repeatable)."),
    no_discover: bool = typer.Option(
        False, "--no-discover", help="Store the URL as given, without fetching it."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Subscribe to a source.  A blog's home page works: its feed is found for you."""
    source = radar(ctx).add_source(url, name=name, tags=tag, discover=not no_discover)
    if as_json:
        print_json(source)
    else:
        console.print(f"added source {source.id}: {source.display_name} <{source.url}>")


@sources_app.command("list")
def list_(
    ctx: typer.Context,
    tag: str | None = typer.Option(None, "--tag", help="Only sources with this tag."),
    as_json: bool = JsonOption,
) -> None:
    """List the sources with their tags, item counts and fetch status."""
    found = radar(ctx).sources(tag=tag)
    if as_json:
        print_json(found)
        return
    table = Table("id", "name", "kind", "url", "tags", "items", "status")
    for s in found:
        table.add_row(*_source_row(s))
    console.print(table)


@sources_app.command("remove")
def remove(ctx: typer.Context, source: str = typer.Argument(..., help="Id, URL or name.")) -> None:
    """Unsubscribe from a source and delete its items."""
    removed = radar(ctx).remove_source(source)
    console.print(f"removed source {removed.id}: {removed.display_name}")


@sources_app.command("tag")
def tag(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Id, URL or name."),
    tags: list[str] = typer.Argument(None, help="Tags to add."),
    remove: list[str] = typer.Option([], "--remove", "-r", help="A tag to remove (repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Add or remove tags on a source: ``mlradar sources tag 3 theory --remove old``."""
    updated = radar(ctx).tag_source(source, add=tags or (), remove=remove)
    if as_json:
        print_json(updated)
    else:
        console.print(f"source {updated.id} tags: {', '.join(updated.tags) or '(none)'}")


def print_summary(summary: UpdateSummary, *, all_rows: bool = False) -> None:
    rows = [
        s
        for s in summary.sources
        if all_rows or s.failed or s.new or s.updated or s.warning or len(summary.sources) <= 40
    ]
    if rows:
        table = Table("source", "new", "updated", "unchanged", "failed")
        for s in rows:
            unchanged = "304" if s.not_modified else str(s.unchanged)
            error = f"[red]{escape(s.error)}[/red]" if s.error else ""
            if s.warning:
                note = f"[yellow]{'' if s.deferred else 'warning: '}{escape(s.warning)}[/yellow]"
                error = f"{error}\n{note}" if error else note
            table.add_row(s.name, str(s.new), str(s.updated), unchanged, error)
        console.print(table)
    hidden = len(summary.sources) - len(rows)
    more = f" ({hidden} quiet sources not shown; --json lists all)" if hidden else ""
    extra = f", {summary.deferred} deferred" if summary.deferred else ""
    extra += f", {summary.warned} with warnings" if summary.warned else ""
    console.print(
        f"[bold]total[/bold]: {len(summary.sources)} sources, {summary.new} new, "
        f"{summary.updated} updated, {summary.unchanged} unchanged, {summary.failed} failed"
        f"{extra}{more}"
    )


def run_update(
    ctx: typer.Context, sources: list[str] | None, force: bool, as_json: bool
) -> UpdateSummary:
    r = radar(ctx)
    targets = r.due_sources(sources, force=force)
    done: list[SourceUpdate] = []
    columns: list[Any] = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err_console, transient=True, disable=as_json) as progress:
        task = progress.add_task("updating", total=len(targets))

        def on_done(result: SourceUpdate) -> None:
            done.append(result)
            progress.update(task, advance=1, description=result.name[:40])

        try:
            summary = r.update([s.id for s in targets], progress=on_done)
        except KeyboardInterrupt:
            progress.stop()
            summary = UpdateSummary(tuple(done))
            err_console.print(
                f"interrupted after {len(done)} of {len(targets)} sources: those are stored; "
                "run again to fetch the rest"
            )
            print_summary(summary)
            raise typer.Exit(130) from None
    return summary


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")

    @app.command("update")
    def update(
        ctx: typer.Context,
        sources: list[str] = typer.Argument(None, help="Only these sources (id, URL or name)."),
        force: bool = typer.Option(False, "--force", help="Fetch every source, even if not due."),
        as_json: bool = JsonOption,
    ) -> None:
        """Fetch the sources that are due and store what is new."""
        summary = run_update(ctx, sources or None, force, as_json)
        if as_json:
            print_json(
                {
                    "sources": to_jsonable(summary.sources),
                    "total": {
                        "sources": len(summary.sources),
                        "new": summary.new,
                        "updated": summary.updated,
                        "unchanged": summary.unchanged,
                        "failed": summary.failed,
                        "deferred": summary.deferred,
                        "warnings": summary.warned,
                    },
                }
            )
        else:
            print_summary(summary)
