"""``enrich``: citation counts, venue, references, citations and recommended papers from
Semantic Scholar, cached with their date."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    parse_since,
    print_json,
    progress_bar,
    radar,
)
from mlradar.types import EnrichSummary


def _print(summary: EnrichSummary) -> None:
    table = Table("paper", "citations", "influential", "venue", "refs", "cited by", "similar")
    for e in summary.enriched:
        if e.error:
            table.add_row(escape(e.ref), f"[dim]{escape(e.error)}[/dim]", "", "", "", "", "")
            continue
        table.add_row(
            escape(e.ref),
            "" if e.citation_count is None else str(e.citation_count),
            "" if e.influential_citation_count is None else str(e.influential_citation_count),
            escape(e.venue or ""),
            str(len(e.references)),
            str(len(e.citations)),
            str(len(e.recommended)),
        )
    console.print(table)
    console.print(
        f"{summary.papers} paper(s): {summary.fetched} answer(s) fetched, "
        f"{summary.cached} still fresh in the cache",
        highlight=False,
    )
    for line in summary.failed:
        err_console.print(f"[red]failed:[/red] {escape(line)}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("enrich")
    def enrich(
        ctx: typer.Context,
        refs: list[str] = typer.Argument(None, metavar="[ID]...", help="Papers (any id form)."),
        tag: str | None = typer.Option(None, "--tag", help="Papers tagged (or items tagged) TAG."),
        since: str | None = typer.Option(
            None, "--since", help="Papers listed since: YYYY-MM-DD, or 7d / 2w."
        ),
        refresh: bool = typer.Option(False, "--refresh", help="Ask again even if cached."),
        as_json: bool = JsonOption,
    ) -> None:
        """Add citation counts, venue, references, citations and recommended papers from
        Semantic Scholar (1 request a second without an API key; set s2_api_key).
        Interrupt at will: what was fetched is cached, and a re-run resumes."""
        r = radar(ctx)
        with progress_bar(disable=as_json) as bar:
            task = bar.add_task("enriching", total=None)

            def on_paper(done: int, total: int, ref: str) -> None:
                bar.update(task, completed=done, total=total, description=escape(ref[:40]))

            try:
                summary = r.enrich(
                    refs or (),
                    tag=tag,
                    since=parse_since(since),
                    progress=on_paper,
                    refresh=refresh,
                )
            except KeyboardInterrupt:
                bar.stop()
                err_console.print(
                    "interrupted: every answer received is cached; run again to resume"
                )
                raise typer.Exit(130) from None
        print_json(summary) if as_json else _print(summary)
