"""``mlradar tag``, ``tags``, ``like``, ``dismiss``, ``read``, ``recommend``, ``related``,
``index`` and ``eval``: the user's library and what is learned from it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from mlradar.cli._common import (
    JsonOption,
    console,
    err_console,
    parse_day,
    print_json,
    radar,
    safe,
    to_jsonable,
)
from mlradar.exceptions import InvalidInputError
from mlradar.types import Recommendation

tag_app = typer.Typer(
    help="Tag papers and items: tag add, tag remove, tag list (the tags themselves: mlradar tags).",
    no_args_is_help=True,
)

DEFAULT_EVAL_DATA = Path("..") / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
DEFAULT_EVAL_FEEDS = Path("..") / "shared" / "data" / "feeds"


def _recommendation_json(rec: Recommendation) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(rec)
    return data


def _print_recommendations(recs: list[Recommendation], as_json: bool, empty: str) -> None:
    if as_json:
        print_json([_recommendation_json(r) for r in recs])
        return
    if not recs:
        console.print(empty)
        return
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("title / why", overflow="fold")
    for n, rec in enumerate(recs, 1):
        ident = rec.arxiv_id or f"item:{rec.item_id}"
        table.add_row(
            str(n),
            safe(ident),
            f"{rec.score:.2f}",
            f"[bold]{safe(rec.title)}[/bold]\n[dim]{safe(rec.reason)}[/dim]",
        )
    console.print(table)


def _note_index_behind(r: Any) -> None:
    """Recommendations rank what the index holds: say so when the database holds more."""
    if r.rank_index_behind():
        err_console.print(
            "note: some papers or items are not in the ranking index yet; "
            "run `mlradar index` to rank them too",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(tag_app, name="tag")

    @tag_app.command("add")
    def tag_add(
        ctx: typer.Context,
        tag: str = typer.Argument(..., help="The tag."),
        ids: list[str] = typer.Argument(..., help="arXiv ids or item ids."),
    ) -> None:
        """Tag papers or items."""
        added = radar(ctx).tag(tag, ids)
        console.print(f"tagged {added} new under [bold]{safe(tag)}[/bold]")

    # `rm` was the first spelling: kept, hidden, for scripts; `remove` as in `sources remove`.
    @tag_app.command("rm", hidden=True)
    @tag_app.command("remove")
    def tag_rm(
        ctx: typer.Context,
        tag: str = typer.Argument(..., help="The tag."),
        ids: list[str] | None = typer.Argument(None, help="Ids to untag (none: delete the tag)."),
    ) -> None:
        """Untag papers or items, or delete a whole tag."""
        removed = radar(ctx).untag(tag, ids or None)
        console.print(f"removed {removed} from [bold]{safe(tag)}[/bold]", highlight=False)

    @tag_app.command("list")
    def tag_list(
        ctx: typer.Context,
        tag: str | None = typer.Argument(None, help="One tag (default: the whole library)."),
        as_json: bool = JsonOption,
    ) -> None:
        """The papers and items in the library, or under one tag."""
        entries = radar(ctx).library(tag)
        if as_json:
            print_json(entries)
            return
        if not entries:
            console.print(
                "the library is empty (mlradar tag add TAG ID...)"
                if tag is None
                else f"nothing is tagged {safe(tag)}",
                highlight=False,
            )
            return
        table = Table()
        for col in ("id", "title", "tags", "reaction", "read"):
            table.add_column(col, overflow="fold")
        for e in entries:
            ident = e.ref if e.kind == "paper" else f"item:{e.ref}"
            table.add_row(
                safe(ident),
                safe(e.title or "(not stored yet)"),
                safe(", ".join(e.tags)),
                safe(e.reaction or ""),
                "yes" if e.read else "",
            )
        console.print(table)

    @app.command("tags")
    def tags(ctx: typer.Context, as_json: bool = JsonOption) -> None:
        """The user's tags with their sizes."""
        summary = radar(ctx).tags()
        if as_json:
            print_json(summary)
            return
        if not summary:
            console.print("no tags yet (mlradar tag add TAG ID...)")
            return
        for t in summary:
            console.print(f"{safe(t.tag)}\t{t.count}")

    def react(ctx: typer.Context, ids: list[str], undo: bool, reaction: str) -> None:
        r = radar(ctx)
        if undo:
            r.clear_reaction(ids)
        elif reaction == "like":
            r.like(ids)
        else:
            r.dismiss(ids)
        done = "cleared" if undo else {"like": "liked", "dismiss": "dismissed"}[reaction]
        console.print(f"{done}: {len(ids)}", highlight=False)

    ids_argument = typer.Argument(..., help="arXiv ids or item ids.")
    undo_option = typer.Option(False, "--undo", help="Forget the reaction.")

    @app.command("like")
    def like(ctx: typer.Context, ids: list[str] = ids_argument, undo: bool = undo_option) -> None:
        """Like papers or items: positives for recommendations."""
        react(ctx, ids, undo, "like")

    @app.command("dismiss")
    def dismiss(
        ctx: typer.Context, ids: list[str] = ids_argument, undo: bool = undo_option
    ) -> None:
        """Dismiss papers or items: explicit negatives for recommendations."""
        react(ctx, ids, undo, "dismiss")

    @app.command("read")
    def read(
        ctx: typer.Context,
        ids: list[str] = typer.Argument(..., help="arXiv ids or item ids."),
        undo: bool = typer.Option(False, "--undo", help="Mark them unread again."),
        # The first spelling, kept (hidden) for scripts: every other command says --undo.
        unread: bool = typer.Option(False, "--unread", hidden=True),
    ) -> None:
        """Mark papers or items read (read ones leave recommendations)."""
        back = undo or unread
        radar(ctx).mark_read(ids, read=not back)
        console.print(f"{'unread' if back else 'read'}: {len(ids)}", highlight=False)

    @app.command("recommend")
    def recommend(
        ctx: typer.Context,
        tag: str | None = typer.Option(None, "--tag", help="Learn from this tag only."),
        since: str | None = typer.Option(
            None, "--since", help="First listing day: YYYY-MM-DD, today, or 7d / 2w back."
        ),
        until: str | None = typer.Option(
            None, "--until", help="Last listing day (same forms as --since)."
        ),
        limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many to show."),
        as_json: bool = JsonOption,
    ) -> None:
        """Rank new papers by your tags, likes and dismissals (default: new since last digest)."""
        r = radar(ctx)
        first, last = parse_day(since, "--since"), parse_day(until, "--until")
        if first is not None or last is not None:
            recs = r.recommend(tag=tag, since=first, until=last, limit=limit)
            _note_index_behind(r)
            _print_recommendations(recs, as_json, "nothing new in that window")
            return
        # A digest: what is new since the last one; shown, it is marked as sent.
        window = r.digest_window(tag)
        recs = r.recommend(tag=tag, limit=limit) if window.has_new else []
        # A feed item or two but no paper (after a snapshot import, all papers are older
        # than the window): that is nothing new to a reader of papers.
        if not any(rec.arxiv_id for rec in recs):
            newest = r.newest_window()
            offer = ""
            if newest is not None:
                since_n, until_n = newest
                offer = (
                    f"; the newest papers in the corpus instead (listed {since_n} to {until_n}):"
                )
            what = "no new papers" if recs else "nothing new"
            err_console.print(
                f"{what} from {window.since} to {window.until}{offer}",
                highlight=False,
                soft_wrap=True,
            )
            if newest is not None:
                recs = r.recommend(tag=tag, since=newest[0], until=newest[1], limit=limit)
        _note_index_behind(r)
        _print_recommendations(recs, as_json, "nothing to recommend")
        r.mark_digest_sent(tag, window=(window.since, window.until))

    @app.command("related")
    def related(
        ctx: typer.Context,
        ident: str = typer.Argument(..., metavar="ID", help="An arXiv id or item id."),
        limit: int = typer.Option(10, "--limit", "-n", min=1, help="How many to show."),
        as_json: bool = JsonOption,
    ) -> None:
        """The stored papers most like one paper."""
        _print_recommendations(radar(ctx).related(ident, limit=limit), as_json, "nothing related")

    @app.command("index")
    def index(
        ctx: typer.Context,
        embed: bool = typer.Option(
            False,
            "--embed",
            help="Also compute missing embeddings (needs mlradar\\[semantic]); interrupt at "
            "will, a rerun resumes.",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Bring the ranking features up to date with the database (incrementally; imports
        and updates do it too).  Safe to run while other commands read or sync."""
        r = radar(ctx)
        start = time.perf_counter()
        added = r.sync_rank_index()
        console.print(f"features: {added} new rows in {time.perf_counter() - start:.1f}s")
        if embed:
            _embed_with_progress(r, quiet)

    @app.command("eval")
    def evaluate(
        data: Path = typer.Option(
            DEFAULT_EVAL_DATA, "--data", help="arXiv metadata JSON lines (.gz ok)."
        ),
        feeds: Path = typer.Option(
            DEFAULT_EVAL_FEEDS,
            "--feeds",
            help="The shared data's feeds folder (the curator and labs tasks come from it).",
        ),
        quick: bool = typer.Option(
            False,
            "--quick",
            help="A few minutes at most: a 10,000-paper subset, about 26 tasks, the baseline "
            "and ours, with progress as it goes.",
        ),
        split: str = typer.Option(
            "test", "--split", help="test (reported) or dev (where weights may be chosen)."
        ),
        author_tasks: int | None = typer.Option(
            None, "--author-tasks", help="Author tasks to sample."
        ),
        limit_papers: int | None = typer.Option(
            None, "--limit-papers", help="Use only the first N papers (by listing day)."
        ),
        cache_dir: Path | None = typer.Option(
            None, "--cache-dir", help="Where to keep corpus embeddings between runs."
        ),
        dense: bool | None = typer.Option(
            None,
            "--dense/--no-dense",
            help="Evaluate the embedding methods (default: when cached embeddings exist).",
        ),
        cat_draws: int | None = typer.Option(
            None, "--cat-draws", help="Positive sets drawn per category."
        ),
        seed: int = typer.Option(0, "--seed"),
        methods: str | None = typer.Option(
            None, "--methods", help="Only methods whose name contains one of these (a,b,...)."
        ),
        kinds: str | None = typer.Option(
            None, "--tasks", help="Only these task kinds (curator,curator-3,labs,author,...)."
        ),
        per_kind: int | None = typer.Option(
            None, "--per-kind", help="At most this many author and category tasks per kind."
        ),
        embedding_model: str | None = typer.Option(
            None,
            "--embedding-model",
            help="The model (and backend) of the dense methods, e.g. "
            "packaged:all-MiniLM-L6-v2@static (default: the product's).",
        ),
        as_json: bool = JsonOption,
    ) -> None:
        """Compare rankers on real data: arxiv-sanity-lite, BM25 and ours (docs/benchmarks.md)."""
        run_and_report(
            EvalRequest(
                data=data,
                feeds=feeds,
                quick=quick,
                split=split,
                author_tasks=author_tasks,
                limit_papers=limit_papers,
                cache_dir=cache_dir,
                dense=dense,
                cat_draws=cat_draws,
                seed=seed,
                methods=methods,
                kinds=kinds,
                per_kind=per_kind,
                embedding_model=embedding_model,
            ),
            as_json=as_json,
        )


class _RateColumn(ProgressColumn):
    """Papers a second, over the bar's recent updates (rich's own speed estimate)."""

    def render(self, task: Task) -> Text:
        if not task.fields.get("papers", True):  # the tuned model's epochs
            return Text("")
        return Text(f"{task.speed or 0:,.0f} papers/s", style="progress.data.speed")


def _embed_with_progress(r: Any, quiet: bool) -> None:
    """``index --embed``: a bar with the rate; Ctrl-C keeps every batch already saved."""
    start = time.perf_counter()
    show_bar = not quiet and err_console.is_terminal
    # Embeddings saved by the indexes done, by the current one, and the current one's total.
    saved = [0, 0, 0]

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show_bar,
    ) as bar:
        task = bar.add_task("embedding", total=None)
        # The tuned backend's first run: the teacher's papers, then epochs of training,
        # then "trained" once the model is kept (the epochs bar ends where training did).
        phases: dict[str, Any] = {}
        trained = [False]

        def training(phase: str, done: int, total: int) -> None:
            if phase == "trained":
                phase = "training"
                trained[0] = True
            if phase not in phases:
                label = "tuned model: teacher" if phase == "teacher" else "tuned model: epochs"
                phases[phase] = bar.add_task(label, total=total, papers=phase == "teacher")
            bar.update(phases[phase], completed=done, total=total)

        def progress(done: int, total: int) -> None:
            # Papers, then items: another total, or a count that went down, is the next index.
            if done <= saved[1] or total != saved[2]:
                saved[0] += saved[1]
            saved[1], saved[2] = done, total
            bar.update(task, completed=done, total=total)

        try:
            n = r.embed_rank_index(progress, training)
        except KeyboardInterrupt:
            bar.stop()
            if phases and not trained[0]:
                err_console.print(
                    "interrupted while training the tuned model: nothing of it is kept; run "
                    "the same command again to train it from the start",
                    highlight=False,
                    soft_wrap=True,
                )
                raise typer.Exit(130) from None
            err_console.print(
                f"interrupted: {saved[0] + saved[1]:,} new embeddings are saved; run the same "
                "command again to resume where it stopped",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(130) from None
    seconds = time.perf_counter() - start
    rate = f", {n / seconds:,.0f}/s" if n and seconds > 0 else ""
    console.print(f"embeddings: {n} new in {seconds:.1f}s{rate}")


@dataclass(frozen=True, slots=True)
class EvalRequest:
    """What ``mlradar eval`` was asked to run."""

    data: Path
    feeds: Path | None = None
    quick: bool = False
    split: str = "test"
    author_tasks: int | None = None
    limit_papers: int | None = None
    cache_dir: Path | None = None
    dense: bool | None = None
    cat_draws: int | None = None
    seed: int = 0
    methods: str | None = None
    kinds: str | None = None
    per_kind: int | None = None
    embedding_model: str | None = None


#: ``eval --quick``: papers in the subset, author tasks, category tasks per kind.
#: (Each task costs the learned blend a k-fold fit: the task count is what makes it quick.)
QUICK_PAPERS, QUICK_AUTHORS, QUICK_CATEGORIES = 10_000, 4, 4


def run_and_report(request: EvalRequest, *, as_json: bool = False) -> None:
    """Load the corpus, build features and tasks, run every method, print the tables."""
    from mlradar._rank import eval as ev
    from mlradar._rank.corpus import read_snapshot

    started = time.perf_counter()

    def log(message: str) -> None:
        err_console.print(
            f"[dim]{time.perf_counter() - started:5.0f}s {safe(message)}[/dim]", highlight=False
        )

    q = request.quick
    feeds = request.feeds if request.feeds is not None and request.feeds.is_dir() else None
    corpus = read_snapshot(request.data, limit=request.limit_papers)
    log(f"read {len(corpus)} papers from {request.data}")
    if q:
        corpus = ev.quick_corpus(corpus, feeds, QUICK_PAPERS, request.seed)
        log(f"quick: a subset of {len(corpus)} papers (every curator week, topped up at random)")
    options = ev.EvalOptions(
        author_tasks=request.author_tasks
        if request.author_tasks is not None
        else (QUICK_AUTHORS if q else 150),
        cat_draws=request.cat_draws if request.cat_draws is not None else 1,
        seed=request.seed,
        split=request.split,
        few_draws=2 if q else 5,
        measure_memory=not q,
    )
    embeddings = None
    if not q or request.dense:
        embeddings = ev.load_or_embed(
            corpus,
            request.cache_dir,
            request.embedding_model,
            compute=bool(request.dense),
            log=log,
        )
    if request.dense and embeddings is None:
        raise InvalidInputError("no embeddings: install mlradar[semantic] (or give --cache-dir)")
    if request.dense is False:
        embeddings = None
    chosen = ev.default_methods(embeddings is not None)
    if q and not request.methods:
        chosen = [m for m in chosen if m.name in ev.QUICK_METHODS]
    if request.methods:
        wanted = [w.strip() for w in request.methods.split(",") if w.strip()]
        chosen = [m for m in chosen if any(w in m.name for w in wanted)]
        if not chosen:
            raise InvalidInputError(f"no method matches {request.methods!r}")
    plain = any(m.baseline and m.name != ev.BASELINE for m in chosen)
    features = ev.build_features(
        corpus,
        embeddings,
        log=log,
        baselines=any(m.baseline for m in chosen),
        plain_baseline=plain,
    )
    feature_seconds = time.perf_counter() - started
    tasks = ev.build_tasks(corpus, options, feeds)
    if q or request.per_kind is not None:
        limit = request.per_kind if request.per_kind is not None else QUICK_CATEGORIES
        kinds = ("cat-", "author") if request.per_kind is not None else ("cat-", "curator-3")
        tasks = _thin(tasks, limit, kinds)
    if request.kinds:
        wanted_kinds = {k.strip() for k in request.kinds.split(",")}
        tasks = [t for t in tasks if t.kind in wanted_kinds]
    counts = ", ".join(f"{sum(t.kind == k for t in tasks)} {k}" for k in ev.KINDS)
    log(f"{len(tasks)} tasks ({counts}), split {request.split}")
    report = ev.run_eval(
        corpus,
        features,
        chosen,
        tasks,
        measure_memory=options.measure_memory,
        feature_seconds=feature_seconds,
        log=log,
    )
    log("done")
    if as_json:
        print_json(report)
        return
    for table in render_report(report):
        console.print(table)


def _thin(tasks: list[Any], per_kind: int, kinds: tuple[str, ...] = ("cat-",)) -> list[Any]:
    """At most ``per_kind`` tasks of each kind starting with one of ``kinds``."""
    kept: list[Any] = []
    counts: dict[str, int] = {}
    for t in tasks:
        if t.kind.startswith(kinds):
            counts[t.kind] = counts.get(t.kind, 0) + 1
            if counts[t.kind] > per_kind:
                continue
        kept.append(t)
    return kept


def render_report(report: Any) -> list[Table]:
    """One table per task kind: every method with arxiv-sanity-lite's method beside it."""
    from mlradar._rank.eval import BASELINE, KINDS

    tables = []
    methods = list(dict.fromkeys(r.method for r in report.rows))
    for kind in KINDS:
        rows = {r.method: r for r in report.rows if r.task_kind == kind}
        if not rows:
            continue
        first = next(iter(rows.values()))
        base = rows.get(BASELINE)
        table = Table(
            title=f"{kind}: {first.n_tasks} tasks, split {first.split}, {report.corpus_size} "
            "papers (* = author names in the features; x AS = ratio to arxiv-sanity)",
            title_justify="left",
        )
        for col in ("method", "P@10", "x AS", "MAP", "x AS", "nDCG@10", "R@50", "s/rec"):
            table.add_column(col, justify="left" if col == "method" else "right")
        for m in methods:
            r = rows.get(m)
            if r is None:
                continue

            def ratio(mine: float, theirs: float | None) -> str:
                return f"{mine / theirs:.2f}" if theirs else ""

            table.add_row(
                safe(m) + (" *" if r.uses_authors else ""),
                f"{r.precision_at_10:.3f}",
                ratio(r.precision_at_10, base.precision_at_10 if base else None),
                f"{r.map:.3f}",
                ratio(r.map, base.map if base else None),
                f"{r.ndcg_at_10:.3f}",
                f"{r.recall_at_50:.3f}",
                f"{r.seconds_per_rec:.2f}",
            )
        tables.append(table)
    return tables
