"""``mlradar arxiv import|harvest|fetch``, ``mlradar paper`` and ``mlradar export bibtex``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    fail,
    parse_day,
    plain,
    print_json,
    radar,
    safe,
)
from mlradar.types import HarvestSummary, ImportProgress, ImportSummary, PaperDetail

arxiv_app = typer.Typer(
    help="arXiv at scale: bulk snapshot import, OAI-PMH harvests.", no_args_is_help=True
)
export_app = typer.Typer(help="Export papers.", no_args_is_help=True)

#: Skipped lines printed as they happen; the rest are only counted.
_SHOWN_PROBLEMS = 20


def _print_import(summary: ImportSummary) -> None:
    s = summary
    if s.resumed_at_line:
        # Totals cover the interrupted run too: say which part this run did.
        console.print(
            f"resumed after line {s.resumed_at_line:,}, where an interrupted run had stored "
            f"{s.resumed_papers:,} papers; this run: {s.papers - s.resumed_papers:,} papers, "
            f"{s.new - s.resumed_new:,} of them new",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"imported {s.papers:,} papers from {s.lines:,} lines: "
        f"{s.new:,} new, {s.updated:,} updated, {s.unchanged:,} unchanged, "
        f"{s.filtered:,} filtered out, {s.skipped:,} skipped lines in {s.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


@arxiv_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The snapshot: JSON lines, plain or .gz."),
    categories: str | None = typer.Option(
        None,
        "--categories",
        "-c",
        help="Keep papers with any of these categories: 'cs.LG,cs.CL,stat.ML,cs.*'.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = JsonOption,
) -> None:
    """Import arXiv's bulk metadata snapshot (idempotent and resumable).

    A second run updates what changed; an interrupted one resumes where it stopped.
    """
    shown = 0

    def on_problem(line: int, problem: str) -> None:
        nonlocal shown
        shown += 1
        if shown <= _SHOWN_PROBLEMS:
            err_console.print(
                f"skipped line {line}: {safe(problem)}", highlight=False, soft_wrap=True
            )
        elif shown == _SHOWN_PROBLEMS + 1:
            err_console.print("(further skipped lines are only counted)")

    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    show_bar = not quiet and not as_json and err_console.is_terminal
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[papers]} papers"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show_bar,
    ) as bar:
        task = bar.add_task("importing", total=None, papers=0)
        last: list[ImportProgress] = []

        def on_progress(p: ImportProgress) -> None:
            last[:] = [p]
            if p.phase == "full text":  # a bulk load indexes its papers once the file is read
                what = f"indexing full text ({p.indexed:,} papers)"
            elif p.phase == "ranking index":
                what = "updating the ranking index"
            else:
                what = "importing"
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total,
                papers=p.papers,
                description=what,
            )

        try:
            summary = radar(ctx).import_arxiv_snapshot(
                file, categories=categories, progress=on_progress, on_problem=on_problem
            )
        except KeyboardInterrupt:
            bar.stop()
            kept = (
                f"{last[0].papers:,} papers from the first {last[0].lines:,} lines are stored"
                if last
                else "nothing was stored yet"
            )
            err_console.print(
                f"interrupted: {kept}; run the same command again to resume where it stopped",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(130) from None
    if as_json:
        print_json(summary)
    else:
        _print_import(summary)


@arxiv_app.command("harvest")
def harvest(
    ctx: typer.Context,
    set_spec: str = typer.Option("cs", "--set", help="OAI set: cs, math, physics:hep-th, ..."),
    from_: str | None = typer.Option(
        None, "--from", help="First datestamp (default: where the last harvest ended)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Last datestamp: YYYY-MM-DD, today, or 7d / 2w back."
    ),
    metadata_format: str = typer.Option(
        "arXiv", "--format", help="arXiv, or arXivRaw for every version with its date."
    ),
    max_pages: int | None = typer.Option(
        None, "--max-pages", min=1, help="Stop after this many pages (resume later)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Harvest arXiv's OAI-PMH interface incrementally (resumable, 3 s between pages)."""
    if metadata_format not in ("arXiv", "arXivRaw"):
        raise fail(f"--format must be arXiv or arXivRaw, not {metadata_format!r}")

    def on_page(state: Any) -> None:
        if not as_json:
            err_console.print(
                f"page {state.pages}: {state.records} records so far", highlight=False
            )

    summary = radar(ctx).harvest_arxiv(
        set_spec=set_spec or None,
        from_date=parse_day(from_, "--from"),
        until_date=parse_day(until, "--until"),
        metadata_prefix="arXivRaw" if metadata_format == "arXivRaw" else "arXiv",
        max_pages=max_pages,
        progress=on_page,
    )
    if as_json:
        print_json(summary)
    else:
        _print_harvest(summary)


def _print_harvest(s: HarvestSummary) -> None:
    resumed = " (resumed)" if s.resumed else ""
    console.print(
        f"harvested {s.records} records in {s.pages} pages{resumed}: {s.new} new, "
        f"{s.updated} updated, {s.unchanged} unchanged, {s.deleted} deleted, "
        f"{s.skipped} unreadable; next harvest starts from {s.last_datestamp or 'the beginning'}",
        highlight=False,
        soft_wrap=True,
    )
    for problem in s.problems[:_SHOWN_PROBLEMS]:
        err_console.print(f"skipped: {safe(problem)}", highlight=False, soft_wrap=True)


@arxiv_app.command("fetch")
def fetch(
    ctx: typer.Context,
    ids: list[str] = typer.Argument(..., help="arXiv ids or links."),
    as_json: bool = JsonOption,
) -> None:
    """Read papers from arXiv's API and store them."""
    papers = radar(ctx).fetch_papers(ids)
    if as_json:
        print_json(papers)
        return
    for p in papers:
        console.print(f"{safe(p.arxiv_id)}  {safe(p.title)}", highlight=False, soft_wrap=True)
    console.print(f"{len(papers)} papers stored")


def _print_paper(detail: PaperDetail) -> None:
    p = detail.paper
    if p is None:
        console.print(f"[bold]arXiv:{safe(detail.arxiv_id)}[/bold] (metadata not stored)")
    else:
        console.print(f"[bold]{safe(p.title)}[/bold]")
        named = f"arXiv:{p.arxiv_id}" if p.arxiv_id else p.ref
        console.print(
            f"{safe(named)}  {safe(' '.join(p.categories))}", highlight=False, soft_wrap=True
        )
        console.print(safe(", ".join(p.authors)), highlight=False, soft_wrap=True)
        dates = [f"first version {p.first_version_at}" if p.first_version_at else ""]
        if p.updated_at and p.updated_at != p.first_version_at:
            dates.append(f"updated {p.updated_at}")
        if p.versions:
            dates.append(f"{len(p.versions)} version(s)")
        console.print(safe(", ".join(d for d in dates if d)), highlight=False, soft_wrap=True)
        also = ", ".join(str(i) for i in p.ids if i.scheme != "title" and str(i) != named)
        for label, value in (
            ("venue", p.venue),
            ("also", also),
            ("comments", p.comments),
            ("journal", p.journal_ref),
            ("doi", p.doi),
        ):
            if value:
                console.print(f"{label}: {safe(value)}", highlight=False, soft_wrap=True)
        links = [("abs ", p.abs_url), ("pdf ", p.pdf_url), ("html", p.html_url)]
        if p.arxiv_id and p.url:  # its page at the venue too (an OpenReview forum)
            links.append(("page", p.url))
        console.print(
            "\n".join(f"{label} {safe(url)}" for label, url in links if url),
            highlight=False,
            soft_wrap=True,
        )
        if p.abstract:
            console.print()
            console.print(safe(p.abstract), highlight=False, soft_wrap=True)
    console.print()
    if not detail.items:
        console.print("no items mention it")
        return
    console.print(f"[bold]mentioned by {len(detail.items)} item(s)[/bold]")
    for item in detail.items:
        when = item.date.date().isoformat()
        title = safe(item.title or item.url or "")
        console.print(
            f"  {when}  {safe(item.source_name)}: {title}  {safe(item.url or '')}",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``arxiv``, ``paper`` and ``export`` to the ``mlradar`` command line."""
    app.add_typer(arxiv_app, name="arxiv")
    app.add_typer(export_app, name="export")

    @app.command("paper")
    def paper(
        ctx: typer.Context,
        ref: str = typer.Argument(
            ..., help="2503.11677, arXiv:2503.11677v2, or an arxiv.org abs/pdf link."
        ),
        fetch: bool = typer.Option(False, "--fetch", help="Read it from arXiv if not stored."),
        as_json: bool = JsonOption,
    ) -> None:
        """Show a paper with everything known about it, and the items that mention it."""
        r = radar(ctx)
        detail = r.paper(ref, fetch=fetch)
        if as_json:
            print_json(detail)
        else:
            _print_paper(detail)


@export_app.command("bibtex")
def export_bibtex(
    ctx: typer.Context,
    ids: list[str] = typer.Argument(None, help="arXiv ids or links."),
    tag: str | None = typer.Option(None, "--tag", help="Papers tagged (or items tagged) TAG."),
    search: str | None = typer.Option(None, "--search", help="Papers matching a search."),
    limit: int = typer.Option(1000, "--limit", min=1, help="At most this many search hits."),
    fetch: bool = typer.Option(False, "--fetch", help="Read unknown ids from arXiv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file."),
) -> None:
    """Write BibTeX for papers named by ids, a tag or a search.

    Papers that are not stored are named on stderr and the rest is written; the exit
    code is 1 only when nothing could be written."""
    export = radar(ctx).export_bibtex_partial(
        ids=ids or (), tag=tag, query=search, limit=limit, fetch=fetch
    )
    if export.missing:
        shown = ", ".join(export.missing[:10]) + (" ..." if len(export.missing) > 10 else "")
        n = len(export.missing)
        err_console.print(
            f"warning: {n} {'paper is' if n == 1 else 'papers are'} not stored and left out: "
            f"{safe(shown)}" + ("" if fetch else " (use --fetch to read them from arXiv)"),
            highlight=False,
            soft_wrap=True,
        )
    if output is None:
        # To a terminal: a title's control characters are shown, not obeyed.
        typer.echo(plain(export.text), nl=False)
        return
    try:
        output.write_text(export.text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    entries = "entry" if export.count == 1 else "entries"
    err_console.print(
        f"wrote {export.count} {entries} to {safe(output)}", highlight=False, soft_wrap=True
    )
