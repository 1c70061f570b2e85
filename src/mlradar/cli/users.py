"""``mlradar user ...``: the people who share this radar."""

from __future__ import annotations

import typer
from rich.table import Table

from mlradar.cli._common import JsonOption, console, core, print_json, safe

user_app = typer.Typer(help="Add, list and remove users.", no_args_is_help=True)


@user_app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name: letters, digits and . _ - @."),
    password: bool = typer.Option(
        False,
        "--password",
        help="Ask for a password (twice), so the user can log in to the web app.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a user with an empty library: ``mlradar --user NAME ...`` then acts as them."""
    secret = _ask_password() if password else None
    c = core(ctx)
    user = c.add_user(name)
    if secret is not None:
        c.accounts.set_password(user.name, secret)
    if as_json:
        print_json(user)
    else:
        console.print(f"added user {user.id}: {safe(user.name)}", highlight=False)


def _ask_password() -> str:
    # Asked before the user is made, so a mistyped confirmation leaves nothing half done.
    from mlradar._accounts import check_password_rules
    from mlradar.exceptions import InvalidInputError

    secret = str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    problem = check_password_rules(secret)
    if problem is not None:
        raise InvalidInputError(problem)
    return secret


@user_app.command("password")
def set_password(
    ctx: typer.Context, name: str = typer.Argument(..., help="The user whose password to set.")
) -> None:
    """Set or change a user's web login password."""
    secret = _ask_password()
    core(ctx).accounts.set_password(name, secret)
    console.print(f"password set for {safe(name)}", highlight=False)


@user_app.command("list")
def list_(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the users."""
    users = core(ctx).users()
    if as_json:
        print_json(users)
        return
    if not users:
        console.print("no users yet (the default user is made by the first command)")
        return
    table = Table("id", "name", "since")
    for u in users:
        table.add_row(str(u.id), safe(u.name), u.created_at.date().isoformat())
    console.print(table)


@user_app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The user to delete."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete a user and everything that is theirs (sources only they follow too)."""
    if not yes:
        typer.confirm(f"delete user {name!r} and their whole library?", abort=True)
    removed = core(ctx).remove_user(name)
    console.print(f"removed user {removed.id}: {safe(removed.name)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
