"""``mlradar feeds ...``: list views as Atom feeds, and the tokens of private feed URLs."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from mlradar.cli._common import JsonOption, console, err_console, print_json, radar

feeds_app = typer.Typer(
    help="Atom feeds of your views, and their private tokens.", no_args_is_help=True
)
token_app = typer.Typer(help="Create, list and revoke private feed tokens.", no_args_is_help=True)

VIEW_HELP = "new, for-you, discussed, tag, search, source or digest."


@feeds_app.command("atom")
def atom(
    ctx: typer.Context,
    view: str = typer.Argument(..., metavar="VIEW", help=VIEW_HELP),
    arg: str | None = typer.Argument(
        None, metavar="[ARG]", help="The tag, query, source or digest id."
    ),
) -> None:
    """Write the Atom feed of a view to stdout."""
    from mlradar._feedsout import parse_view

    data = radar(ctx).atom_feed(parse_view(view, arg))
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.flush()


@token_app.command("create")
def create(
    ctx: typer.Context,
    view: str | None = typer.Argument(
        None, metavar="[VIEW]", help="Only this view (default: all). " + VIEW_HELP
    ),
    arg: str | None = typer.Argument(None, metavar="[ARG]"),
    label: str | None = typer.Option(None, "--label", help="A note: which reader uses it."),
    as_json: bool = JsonOption,
) -> None:
    """Create a token for private feed URLs.  It is shown once: keep it."""
    from mlradar._feedsout import parse_view

    scope = None if view is None else parse_view(view, arg)
    made = radar(ctx).create_feed_token(scope, label=label)
    if as_json:
        print_json(made)
        return
    console.print(made.secret, highlight=False, soft_wrap=True)
    what = "every feed of yours" if scope is None else f"the {scope} feed"
    err_console.print(
        f"token {made.token.id} opens {what}; it is shown only now "
        "(revoke it with `mlradar feeds token revoke ID`)",
        highlight=False,
    )


@token_app.command("list")
def list_(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Your feed tokens (their secrets are not stored, so not shown)."""
    tokens = radar(ctx).feed_tokens()
    if as_json:
        print_json(tokens)
        return
    if not tokens:
        console.print("no feed tokens (create one with `mlradar feeds token create`)")
        return
    table = Table("id", "opens", "label", "created", "last used", "state")
    for t in tokens:
        table.add_row(
            str(t.id),
            escape(str(t.view) if t.view else "all feeds"),
            escape(t.label or ""),
            t.created_at.strftime("%Y-%m-%d"),
            t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "",
            "active" if t.active else "revoked",
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: int = typer.Argument(..., metavar="ID"),
) -> None:
    """Revoke a token: its feed URLs stop working."""
    done = radar(ctx).revoke_feed_token(token_id)
    console.print(f"revoked feed token {done.id}", highlight=False)


def register(app: typer.Typer) -> None:
    feeds_app.add_typer(token_app, name="token")
    app.add_typer(feeds_app, name="feeds")
