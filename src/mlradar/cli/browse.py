"""Reading commands: ``items``, ``search``, ``stats``, and ``run`` (the main job)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from typer.core import TyperCommand

from mlradar.cli._common import JsonOption, console, parse_since, print_json, radar, safe
from mlradar.cli.serve import HostOption, PortOption, serve_app
from mlradar.cli.sources import all_failed, print_summary, run_update
from mlradar.types import Item


def _item_date(item: Item) -> str:
    """The publication date; an item without one (or with a placeholder such as Hugo's
    0001-01-01) shows when it was first fetched, marked as such, not as a date it bears."""
    dated = item.published_at or item.updated_at
    if dated is not None:
        return dated.strftime("%Y-%m-%d")
    return f"[dim]seen {item.first_seen_at.strftime('%Y-%m-%d')}[/dim]"


def _print_items(items: list[Item], *, filtered: bool = False) -> None:
    if not items:
        console.print("no items match" if filtered else "no items yet")
        return
    table = Table("id", "date", "source", "title")
    for i in items:
        table.add_row(
            str(i.id),
            _item_date(i),
            safe(i.source_name),
            safe(i.title or i.url or ""),
        )
    console.print(table)


class QueryCommand(TyperCommand):
    """A command whose arguments are the words of a query: a word that starts with ``-``
    but is none of the command's options is a word of the query, so that
    ``mlradar search -diffusion -n 2`` excludes "diffusion" and shows two hits.
    ``--`` is accepted and dropped (``search -- -diffusion -n 2`` means the same)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if param.param_type_name == "option":  # typer vendors click: duck-typed
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not getattr(param, "is_flag", False) and not getattr(
                        param, "count", False
                    )
        options: list[str] = []
        words: list[str] = []
        pending = False  # the previous token was an option that takes a value
        for arg in args:
            if pending:
                options.append(arg)
                pending = False
            elif arg == "--":
                continue
            elif arg.split("=", 1)[0] in takes_value:
                options.append(arg)
                pending = "=" not in arg and takes_value[arg]
            else:
                words.append(arg)
        return super().parse_args(ctx, [*options, "--", *words] if words else options)


def register(app: typer.Typer) -> None:
    @app.command("items")
    def items(
        ctx: typer.Context,
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        source: str | None = typer.Option(
            None, "--source", help="Only this source: id, name, title or URL."
        ),
        since: str | None = typer.Option(
            None, "--since", help="YYYY-MM-DD, today, or a span back: 36h / 7d / 2w."
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """The newest items, newest first."""
        found = radar(ctx).items(limit=limit, source=source, since=parse_since(since))
        if as_json:
            print_json(found)
        else:
            _print_items(found, filtered=source is not None or since is not None)

    @app.command("search", cls=QueryCommand)
    def search(
        ctx: typer.Context,
        words: list[str] = typer.Argument(
            ...,
            metavar="QUERY",
            help='Words (all must match), "a phrase", a OR b, -excluded, prefix*.',
        ),
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        source: list[str] = typer.Option(
            [], "--source", help="Only this source: id, name, title or URL (repeatable)."
        ),
        since: str | None = typer.Option(
            None, "--since", help="YYYY-MM-DD, today, or a span back: 36h / 7d / 2w."
        ),
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
            " ".join(words),
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
            table.add_row(
                f"{h.score:.2f}", h.kind, safe(h.ref), date, safe(h.title or ""), safe(h.snippet)
            )
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
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="List every source, failed ones one by one."
        ),
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
        newest, then serve the reading page (--no-serve prints and exits)."""
        r = radar(ctx)
        if not r.sources():
            # A first run with nothing followed would show nothing: start from the catalog.
            init = r.init_profile("researcher")
            console.print(
                f"first run: following the {len(init.subscribed)} sources of the 'researcher' "
                "profile from the built-in catalog ([bold]mlradar sources list[/bold]; "
                "other profiles: [bold]mlradar init --profile beginner|news[/bold])"
            )
        summary = run_update(ctx, None, False, False)
        print_summary(summary, verbose=verbose)
        _print_items(r.items(limit=limit))
        if not no_serve:
            # Served even when every source failed: the page shows why, source by source.
            serve_app(ctx, host, port, None)
        elif all_failed(summary):
            raise typer.Exit(1)
