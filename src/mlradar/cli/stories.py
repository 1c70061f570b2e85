"""``stories`` and ``story``: one line per paper or link, with every mention and its talk."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from mlradar.cli._common import JsonOption, console, parse_since, print_json, radar
from mlradar.types import Story


def _talk(story: Story) -> str:
    return f"{story.points}p {story.comments}c {story.sources}src"


def _print_stories(stories: list[Story]) -> None:
    if not stories:
        console.print("no stories yet")
        return
    table = Table("id", "last seen", "talk", "mentions", "title")
    for s in stories:
        title = escape(s.title or s.url or "")
        if s.arxiv_id:
            title += f"  [dim]arXiv:{escape(s.arxiv_id)}[/dim]"
        table.add_row(
            str(s.id), s.last_seen.strftime("%Y-%m-%d"), _talk(s), str(len(s.mentions)), title
        )
    console.print(table)


def _print_story(s: Story) -> None:
    console.print(f"[bold]{escape(s.title or s.url or '')}[/bold]", highlight=False)
    if s.arxiv_id:
        console.print(f"arXiv:{escape(s.arxiv_id)}", highlight=False)
    if s.url:
        console.print(escape(s.url), highlight=False, soft_wrap=True)
    console.print(
        f"first seen {s.first_seen:%Y-%m-%d}, last seen {s.last_seen:%Y-%m-%d}; "
        f"{s.points} points, {s.comments} comments, {s.sources} source(s)",
        highlight=False,
    )
    table = Table("date", "source", "kind", "talk", "title", "url")
    for m in s.mentions:
        counted = m.points is not None or m.comments is not None
        talk = f"{m.points or 0}p {m.comments or 0}c" if counted else ""
        table.add_row(
            m.published.strftime("%Y-%m-%d") if m.published else "",
            escape(m.source),
            escape(m.kind),
            talk,
            escape(m.title or ""),
            escape(m.url or ""),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("stories")
    def stories(
        ctx: typer.Context,
        since: str | None = typer.Option(
            None, "--since", help="Last seen since: YYYY-MM-DD, or 36h / 7d / 2w."
        ),
        sort: str = typer.Option(
            "new", "--sort", help="new (last seen first) or discussed (points and comments)."
        ),
        source: str | None = typer.Option(None, "--source", help="Mentioned by this source."),
        limit: int = typer.Option(20, "--limit", "-n", min=1),
        as_json: bool = JsonOption,
    ) -> None:
        """Stories: one per paper or link, with every mention in your sources."""
        if sort not in ("new", "discussed"):
            raise typer.BadParameter("use new or discussed", param_hint="--sort")
        found = radar(ctx).stories(
            since=parse_since(since),
            sort="discussed" if sort == "discussed" else "new",
            source=source,
            limit=limit,
        )
        print_json(found) if as_json else _print_stories(found)

    @app.command("story")
    def story(
        ctx: typer.Context,
        story_id: int = typer.Argument(..., metavar="ID"),
        as_json: bool = JsonOption,
    ) -> None:
        """One story: its paper or link, every mention with its source, and its talk."""
        found = radar(ctx).story(story_id)
        print_json(found) if as_json else _print_story(found)
