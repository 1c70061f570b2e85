"""``mlradar init``, ``catalog`` (list, show, import, check), ``path``, ``done``, and
``sources import`` / ``sources export --opml``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from mlradar._catalog import limits
from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    print_json,
    progress_bar,
    radar,
    safe,
)
from mlradar.cli._common import to_jsonable as _jsonable
from mlradar.types import CatalogEntry, LearningPath, LinkCheck, LinkStatus

catalog_app = typer.Typer(
    help="The catalog of learning resources: list, show, import lists, check links.",
    invoke_without_command=True,
)

#: What ``init`` says about each profile when none is given (see ``_catalog/profiles.py``).
PROFILE_HELP = {
    "beginner": "blogs, channels and forums for people starting out (3Blue1Brown, ...)",
    "researcher": "research blogs and arXiv for grad students and researchers (Lil'Log, ...)",
    "news": "lab blogs, newsletters, Hacker News, r/MachineLearning, arXiv",
}

_STATUS_STYLE = {"ok": "green", "moved": "yellow", "gone": "red", "unreachable": "magenta"}


def entry_json(entry: CatalogEntry) -> dict[str, Any]:
    """An entry as JSON, with its derived status and best URL."""
    data: dict[str, Any] = _jsonable(entry)
    data["status"] = entry.status
    data["best_url"] = entry.best_url
    return data


def path_json(path: LearningPath) -> dict[str, Any]:
    """The whole path as JSON; ``plan`` lists the step numbers the table shows."""
    from mlradar._catalog.paths import plan

    nxt = path.next_step
    return {
        "user": path.user,
        "level": path.level,
        "goal": path.goal,
        "done": path.done_count,
        "total": len(path.steps),
        "next": _jsonable(nxt) if nxt else None,
        "steps": _jsonable(path.steps),
        "plan": [s.position for s in plan(path.steps)],
    }


def _status_text(entry: CatalogEntry) -> str:
    status = entry.status
    if status is None:
        return ""
    text = f"[{_STATUS_STYLE[status]}]{status}[/]"
    if status == "moved" and entry.link and entry.link.new_url:
        text += f" → {safe(entry.link.new_url)}"
    if entry.link is None and entry.retired:
        text += " (catalog)"
    return text


def _link_text(link: LinkStatus) -> str:
    text = f"[{_STATUS_STYLE[link.status]}]{link.status}[/]"
    if link.new_url:
        text += f" → {safe(link.new_url)}"
    if link.error:
        text += f" ({safe(link.error)})"
    return text


@catalog_app.callback()
def catalog_list(
    ctx: typer.Context,
    topic: str | None = typer.Option(None, "--topic", help='A topic, e.g. "deep learning".'),
    level: str | None = typer.Option(
        None, "--level", help="beginner, intermediate (grad) or advanced (researcher)."
    ),
    kind: str | None = typer.Option(None, "--kind", help="blog, course, book, paper, tool..."),
    status: str | None = typer.Option(
        None, "--status", help="ok, moved, gone, unreachable, or unchecked."
    ),
    as_json: bool = JsonOption,
) -> None:
    """List the catalog (subcommands import lists and check links)."""
    if ctx.invoked_subcommand is not None:
        return
    entries = radar(ctx).catalog(topic=topic, level=level, kind=kind, status=status)
    if as_json:
        print_json([entry_json(e) for e in entries])
        return
    if not entries:
        console.print("no catalog entries match")
        return
    table = Table("id", "name", "kind", "level", "topics", "link")
    for e in entries:
        table.add_row(
            safe(e.slug),
            safe(e.name),
            safe(e.kind),
            safe(e.level or ""),
            safe(", ".join(e.topics)),
            _status_text(e),
        )
    console.print(table)
    console.print(f"{len(entries)} entries")


@catalog_app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The entry's id (slug)."),
    as_json: bool = JsonOption,
) -> None:
    """Everything the catalog knows about one entry."""
    e = radar(ctx).catalog_entry(ref)
    if as_json:
        print_json(entry_json(e))
        return
    console.print(f"[bold]{safe(e.name)}[/bold] ({safe(e.slug)})")
    console.print(safe(f"{e.kind}, {e.level or 'any level'}; topics: {', '.join(e.topics)}"))
    console.print(f"url: {safe(e.url)}")
    if e.best_url != e.url:
        console.print(f"now at: {safe(e.best_url)}")
    if e.feed_url:
        console.print(f"feed: {safe(e.feed_url)}")
    if e.description:
        console.print(safe(e.description))
    if e.retired:
        console.print(f"[red]gone[/red]: {safe(e.retired)}")
    if e.link:
        when = e.link.checked_at.strftime("%Y-%m-%d %H:%M")
        console.print(f"link checked {when}: {_link_text(e.link)}")
    for o in e.origins:
        where = " > ".join(o.heading_path)
        console.print(f"from {safe(o.origin)}" + (f" ({safe(where)})" if where else ""))


@catalog_app.command("import")
def import_(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="A Markdown file, or an http(s) URL of one."),
    origin: str | None = typer.Option(None, "--origin", help="Name the list (default: its path)."),
    level: str | None = typer.Option(None, "--level", help="Who the whole list is for."),
    kind: str | None = typer.Option(
        None, "--kind", help="What its links are when the URL does not tell (e.g. book)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Import a Markdown reading list (an awesome-list, a blog post of links)."""
    result = radar(ctx).import_markdown(source, origin=origin, level=level, kind=kind)
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{result.found} resources in {safe(result.origin)}: "
            f"{result.added} new, {result.merged} already in the catalog"
        )


@catalog_app.command("check")
def check(
    ctx: typer.Context,
    refs: list[str] = typer.Argument(None, help="Only these entries (ids); default all."),
    kind: str | None = typer.Option(None, "--kind", help="Only entries of this kind."),
    timeout: float = typer.Option(
        limits.DEFAULT_TIMEOUT, "--timeout", min=0.1, help="Seconds per URL."
    ),
    concurrency: int = typer.Option(
        limits.DEFAULT_CONCURRENCY, "--concurrency", min=1, help="Checks at once (all hosts)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check every catalog URL: ok, moved (with the new URL), gone, or unreachable."""
    r = radar(ctx)
    total = len(refs) if refs else len(r.catalog(kind=kind))
    with progress_bar(disable=as_json) as progress:
        task = progress.add_task("checking", total=total)

        def advance(c: LinkCheck) -> None:
            progress.update(task, advance=1, description=safe(c.slug[:40]))

        try:
            results = r.check_links(
                refs or None,
                kind=kind,
                timeout=timeout,
                concurrency=concurrency,
                progress=advance,
            )
        except KeyboardInterrupt:
            progress.stop()
            err_console.print("interrupted: the links checked so far are stored")
            raise typer.Exit(130) from None
    if as_json:
        print_json(results)
        return
    table = Table("id", "url", "status")
    for c in results:
        if c.link.status != "ok":
            table.add_row(safe(c.slug), safe(c.url), _link_text(c.link))
    if table.row_count:
        console.print(table)
    counts = {s: sum(1 for c in results if c.link.status == s) for s in _STATUS_STYLE}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {len(results)}")


def _print_path(path: LearningPath, *, show_all: bool) -> None:
    from mlradar._catalog.paths import plan, stage_label

    if not path.steps:
        console.print("no steps match")
        return
    shown = list(path.steps) if show_all else plan(path.steps)
    nxt = path.next_step
    # The id is what `done` takes: never cut (the other columns wrap instead).
    widest = max((len(s.slug) for s in shown), default=2)
    from rich import box

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("id", no_wrap=True, min_width=widest)
    table.add_column("step", overflow="fold", ratio=1)
    stage = None
    for s in shown:
        if s.stage != stage:
            stage = s.stage
            left = sum(1 for t in path.steps if t.stage == stage and not t.done)
            listed = sum(1 for t in shown if t.stage == stage and not t.done)
            more = f" [dim](+{left - listed} more)[/dim]" if not show_all and left > listed else ""
            table.add_row("", "", "", f"[bold]{safe(stage_label(stage))}[/bold]{more}")
        mark = "[green]✓[/green]" if s.done else ("[bold]→[/bold]" if s is nxt else "")
        what = safe(", ".join(x for x in (s.kind, s.level) if x))
        table.add_row(
            str(s.position),
            mark,
            safe(s.slug),
            f"{safe(s.name)} [dim]({what})[/dim]\n[blue]{safe(s.url)}[/blue]",
        )
    console.print(table)
    hidden = len(path.steps) - path.done_count - sum(1 for s in shown if not s.done)
    note = f"; {hidden} more steps: mlradar path --all" if hidden > 0 else ""
    console.print(f"{path.done_count} of {len(path.steps)} steps done{note}", highlight=False)
    if nxt is not None:
        console.print(
            f"next: [bold]{safe(nxt.name)}[/bold] <{safe(nxt.url)}>",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"mark it done with: mlradar done {nxt.position}  (or: mlradar done {safe(nxt.slug)})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print("every step is done")


def import_opml_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="An OPML file.", dir_okay=False),
    as_json: bool = JsonOption,
) -> None:
    """Subscribe to every feed of an OPML file; folders become tags."""
    result = radar(ctx).import_opml(str(file))
    if as_json:
        print_json(result)
        return
    console.print(
        f"{result.feeds} feeds in {result.folders} folders: "
        f"{result.added} added, {result.existing} already subscribed"
    )
    for line in result.skipped:
        err_console.print(f"skipped {safe(line)}")


def export_opml_command(
    ctx: typer.Context,
    # OPML is the only format: `--opml` is accepted (the README says it) and changes nothing.
    opml: bool = typer.Option(False, "--opml", hidden=True),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    tag: str | None = typer.Option(None, "--tag", help="Only sources with this tag."),
) -> None:
    """Write the feed subscriptions as OPML (tags become folders)."""
    del opml
    data = radar(ctx).export_opml(tag=tag)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        err_console.print(f"wrote {safe(output)}")


def attach_sources_commands(sources_app: typer.Typer) -> None:
    """``sources import`` and ``sources export`` on the lead's ``sources`` group."""
    sources_app.command("import")(import_opml_command)
    sources_app.command("export")(export_opml_command)


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
    from mlradar.cli.sources import sources_app

    attach_sources_commands(sources_app)

    @app.command("init")
    def init(
        ctx: typer.Context,
        profile: str | None = typer.Option(
            None, "--profile", help="beginner, researcher or news: which feeds to follow."
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """Load the built-in catalog and subscribe to the sources that suit a profile."""
        if profile is None:
            err_console.print("choose a profile with --profile:", highlight=False)
            for name, what in PROFILE_HELP.items():
                err_console.print(f"  {name:<11} {what}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
        result = radar(ctx).init_profile(profile)
        if as_json:
            print_json(result)
            return
        console.print(f"catalog: {result.catalog_entries} built-in entries")
        console.print(
            f"profile {safe(result.profile)}: {len(result.subscribed)} sources subscribed, "
            f"{len(result.already_subscribed)} already followed"
        )
        console.print("run `mlradar update` to fetch them, `mlradar path` for a study plan")

    @app.command("path")
    def path(
        ctx: typer.Context,
        level: str | None = typer.Option(
            None, "--level", help="beginner, intermediate (grad) or advanced (researcher)."
        ),
        goal: str | None = typer.Option(
            None, "--goal", help='Stop at this stage, e.g. "deep learning" or "llm".'
        ),
        show_all: bool = typer.Option(
            False, "--all", help="Every step, done or not (default: a few open steps a stage)."
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """An ordered study plan from the catalog, with your progress and the next step.

        Each stage lists its first open steps, easiest first; --all lists every step.
        Step numbers stay the same in every view, and `mlradar done` takes them."""
        found = radar(ctx).learning_path(level=level, goal=goal)
        if as_json:
            print_json(path_json(found))
        else:
            _print_path(found, show_all=show_all)

    @app.command("done")
    def done(
        ctx: typer.Context,
        ref: str = typer.Argument(
            ..., metavar="STEP", help="The step's number or id, as `mlradar path` shows them."
        ),
        undo: bool = typer.Option(False, "--undo", help="Mark it not done."),
        as_json: bool = JsonOption,
    ) -> None:
        """Mark a learning-path step done (per user: see --user)."""
        r = radar(ctx)
        entry = r.mark_done(ref, done=not undo)
        if as_json:
            print_json({"id": entry.slug, "done": not undo})
            return
        console.print(f"{'not done' if undo else 'done'}: {safe(entry.name)}")
