"""Reading commands: ``items``, ``search``, ``stats``, and ``run`` (the main job)."""

from __future__ import annotations

import typer
from rich.table import Table

from mlradar.cli._common import JsonOption, console, parse_since, print_json, radar
from mlradar.cli.serve import HostOption, PortOption, serve_app
from mlradar.cli.sources import print_summary, run_update
from mlradar.types import Item


def _print_items(items: list[Item]) -> None:
    if not items:
        console.print("no items yet")
        return
    table = Table("id", "date", "source", "title")
    for i in items:
        table.add_row(str(i.id), i.date.strftime("%Y-%m-%d"), i.source_name, i.title or i.url or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("items")
    def items(
        ctx: typer.Context,
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        source: str | None = typer.Option(None, "--source", help="Id, URL or name."),
        since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD, or 36h / 7d / 2w."),
        as_json: bool = JsonOption,
    ) -> None:
        """The newest items, newest first."""
        found = radar(ctx).items(limit=limit, source=source, since=parse_since(since))
        print_json(found) if as_json else _print_items(found)

    @app.command("search")
    def search(
        ctx: typer.Context,
        query: str = typer.Argument(
            ..., help='Words (all must match), "a phrase", a OR b, -excluded, prefix*.'
        ),
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        source: list[str] = typer.Option([], "--source", help="Only this source (repeatable)."),
        since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD, or 36h / 7d / 2w."),
        exhaustive: bool = typer.Option(
            False,
            "--exhaustive",
            help="Rank every match (by default, a query matching over 20,000 records "
            "ranks the newest 20,000).",
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """Search titles, authors and text of every item and paper."""
        hits = radar(ctx).search(
            query,
            limit=limit,
            sources=source or None,
            since=parse_since(since),
            exhaustive=exhaustive,
        )
        if as_json:
            print_json(hits)
            return
        if not hits:
            console.print("no matches")
            return
        table = Table("score", "kind", "ref", "date", "title", "snippet")
        for h in hits:
            date = h.date.strftime("%Y-%m-%d") if h.date else ""
            table.add_row(f"{h.score:.2f}", h.kind, h.ref, date, h.title or "", h.snippet)
        console.print(table)

    @app.command("stats")
    def stats(ctx: typer.Context, as_json: bool = JsonOption) -> None:
        """Counts of sources, items, papers and tags."""
        s = radar(ctx).stats()
        if as_json:
            print_json(s)
            return
        table = Table("what", "count")
        for name in (
            "sources",
            "items",
            "papers",
            "tags",
            "items_linked_to_papers",
            "failing_sources",
        ):
            table.add_row(name.replace("_", " "), str(getattr(s, name)))
        console.print(table)

    @app.command("run")
    def run(
        ctx: typer.Context,
        limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many items to show."),
        no_serve: bool = typer.Option(
            False,
            "--no-serve",
            "--print",
            help="Print the newest items and exit (for scripts) instead of serving the page.",
        ),
        host: str = HostOption,
        port: int = PortOption,
    ) -> None:
        """The main job: create the database if needed, update every due source, show the
        newest, then serve the reading page (``--no-serve`` prints and exits)."""
        r = radar(ctx)
        if not r.sources():
            # A first run with nothing followed would show nothing: start from the catalog.
            init = r.init_profile("researcher")
            console.print(
                f"first run: following the {len(init.subscribed)} sources of the 'researcher' "
                "profile from the built-in catalog ([bold]mlradar sources list[/bold]; "
                "other profiles: [bold]mlradar init --profile beginner|news[/bold])"
            )
        print_summary(run_update(ctx, None, False, False))
        _print_items(r.items(limit=limit))
        if not no_serve:
            serve_app(ctx, host, port, None)
