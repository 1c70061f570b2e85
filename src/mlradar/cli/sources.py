"""``mlradar sources ...`` and ``mlradar update``."""

from __future__ import annotations

import typer
from rich.table import Table

from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    print_json,
    progress_bar,
    radar,
    safe,
    to_jsonable,
)
from mlradar.types import Source, SourceUpdate, UpdateSummary

sources_app = typer.Typer(help="Follow, list, tag and remove sources.", no_args_is_help=True)


def _source_row(s: Source) -> list[str]:
    st = s.state
    status = "never fetched" if st.last_fetched_at is None else str(st.last_status or "-")
    if st.consecutive_errors:
        status = f"[red]{st.consecutive_errors} error(s): {safe(st.last_error)}[/red]"
    if st.last_warning:
        # A cap that dropped entries, a charset repaired, a deferral: the user must see it.
        status += f"\n[yellow]warning: {safe(st.last_warning)}[/yellow]"
    return [
        str(s.id),
        safe(s.display_name),
        s.kind,
        safe(s.url),
        safe(", ".join(s.tags)),
        str(s.item_count),
        status,
    ]


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
    r = radar(ctx)
    source = r.add_source(url, name=name, tags=tag, discover=not no_discover)
    for other, shared in r.overlapping_listings(source):
        err_console.print(
            f"warning: source {other.id} ({safe(other.display_name)}) already lists "
            f"{safe(', '.join(shared))}: those papers will arrive from both "
            f"(mlradar sources remove {other.id} keeps one)",
            highlight=False,
            soft_wrap=True,
        )
    if as_json:
        print_json(source)
    else:
        console.print(f"added source {source.id}: {safe(source.display_name)} <{safe(source.url)}>")


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
    if not found:
        console.print(
            "no sources yet: mlradar sources add URL, or mlradar init --profile beginner"
            if tag is None
            else f"no sources are tagged {safe(tag)}",
            highlight=False,
        )
        return
    table = Table("id", "name", "kind", "url", "tags", "items", "status")
    for s in found:
        table.add_row(*_source_row(s))
    console.print(table)


@sources_app.command("remove")
def remove(
    ctx: typer.Context, source: str = typer.Argument(..., help="Id, name, title or URL.")
) -> None:
    """Unsubscribe from a source and delete its items."""
    removed = radar(ctx).remove_source(source)
    console.print(f"removed source {removed.id}: {safe(removed.display_name)}")


@sources_app.command("tag")
def tag(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Id, name, title or URL."),
    tags: list[str] = typer.Argument(None, help="Tags to add."),
    remove: list[str] = typer.Option([], "--remove", "-r", help="A tag to remove (repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Add or remove tags on a source: `mlradar sources tag 3 theory --remove old`."""
    updated = radar(ctx).tag_source(source, add=tags or (), remove=remove)
    if as_json:
        print_json(updated)
    else:
        console.print(f"source {updated.id} tags: {safe(', '.join(updated.tags)) or '(none)'}")


#: Sources named per failure cause without --verbose.
_EXAMPLES = 3


def failure_cause(update: SourceUpdate) -> str:
    """The cause of a failure without the source's own host or URL in it, so that 285
    sources that failed the same way make one line ("cannot resolve …: Name or service not
    known")."""
    from urllib.parse import urlsplit

    text = update.error or ""
    host = urlsplit(update.url).hostname
    for own in (update.url, host):
        if own:
            text = text.replace(own, "…")
    return text


def group_failures(summary: UpdateSummary) -> list[tuple[str, list[SourceUpdate]]]:
    """The failed sources by cause, the most common cause first."""
    groups: dict[str, list[SourceUpdate]] = {}
    for s in summary.sources:
        if s.failed:
            groups.setdefault(failure_cause(s), []).append(s)
    return sorted(groups.items(), key=lambda g: -len(g[1]))


def all_failed(summary: UpdateSummary) -> bool:
    return bool(summary.sources) and summary.failed == len(summary.sources)


def offline(summary: UpdateSummary) -> bool:
    """Every source failed to connect: most likely there is no network."""
    return all_failed(summary) and all(
        (s.error or "").startswith(("cannot connect", "timed out", "timeout"))
        for s in summary.sources
    )


def print_summary(summary: UpdateSummary, *, verbose: bool = False) -> None:
    """The sources that changed (all of them when few), the failures grouped by cause
    (every failed source with ``verbose``), and the totals."""
    quiet_ok = len(summary.sources) <= 40
    rows = [
        s
        for s in summary.sources
        if not s.failed and (verbose or s.new or s.updated or s.warning or quiet_ok)
    ]
    if rows:
        table = Table("source", "new", "updated", "unchanged", "note")
        for s in rows:
            unchanged = "304" if s.not_modified else str(s.unchanged)
            note = ""
            if s.warning:
                note = f"[yellow]{'' if s.deferred else 'warning: '}{safe(s.warning)}[/yellow]"
            table.add_row(safe(s.name), str(s.new), str(s.updated), unchanged, note)
        console.print(table)
    for cause, failed in group_failures(summary):
        n = len(failed)
        console.print(
            f"[red]failed[/red]: {n} {'source' if n == 1 else 'sources'}: {safe(cause)}",
            highlight=False,
            soft_wrap=True,
        )
        shown = failed if verbose else failed[:_EXAMPLES]
        for s in shown:
            where = safe(s.url) if s.name == s.url else f"{safe(s.name)} <{safe(s.url)}>"
            console.print(f"  {s.source_id}: {where}", highlight=False, soft_wrap=True)
        if len(shown) < n:
            console.print(f"  ... and {n - len(shown)} more (--verbose lists them)")
    ok = len(summary.sources) - summary.failed
    hidden = ok - len(rows)
    more = f" ({hidden} quiet sources not shown; --verbose lists all)" if hidden else ""
    extra = f", {summary.deferred} deferred" if summary.deferred else ""
    extra += f", {summary.warned} with warnings" if summary.warned else ""
    not_modified = sum(1 for s in summary.sources if s.not_modified)
    # Items, not sources: a 304 source's items are not counted (they were not read again).
    console.print(
        f"[bold]total[/bold]: {len(summary.sources)} sources ({not_modified} not modified), "
        f"{summary.new} new, {summary.updated} updated, {summary.unchanged} unchanged items, "
        f"{summary.failed} failed{extra}{more}",
        highlight=False,
        soft_wrap=True,
    )
    if offline(summary):
        err_console.print(
            "no network? every source failed to connect. Without one, "
            "`mlradar arxiv import FILE` loads an arXiv snapshot and "
            "`mlradar sources import FILE.opml` adds feeds; run again when online.",
            highlight=False,
            soft_wrap=True,
        )


def run_update(
    ctx: typer.Context, sources: list[str] | None, force: bool, as_json: bool
) -> UpdateSummary:
    r = radar(ctx)
    targets = r.due_sources(sources, force=force)
    done: list[SourceUpdate] = []
    with progress_bar(disable=as_json) as progress:
        task = progress.add_task("updating", total=len(targets))

        def on_done(result: SourceUpdate) -> None:
            done.append(result)
            progress.update(task, advance=1, description=safe(result.name[:40]))

        try:
            # Under the runners' lock, as the web's "update now": a hand-started update
            # never runs beside `mlradar worker` or serve's worker (both would fetch).
            summary = r.update([s.id for s in targets], progress=on_done, exclusive=True)
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
        sources: list[str] = typer.Argument(
            None, help="Only these sources (id, name, title or URL)."
        ),
        force: bool = typer.Option(False, "--force", help="Fetch every source, even if not due."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="List every source, failed ones one by one."
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """Fetch the sources that are due and store what is new.

        Exits 1 when every source failed."""
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
                        "not_modified": sum(1 for s in summary.sources if s.not_modified),
                        "failed": summary.failed,
                        "deferred": summary.deferred,
                        "warnings": summary.warned,
                    },
                }
            )
        else:
            print_summary(summary, verbose=verbose)
        if all_failed(summary):
            raise typer.Exit(1)
