"""``mlradar serve``: the web app and REST API (uvicorn, in this process)."""

from __future__ import annotations

import typer

from mlradar.cli._common import console, core, err_console, fail

HostOption = typer.Option("127.0.0.1", "--host", help="Address to bind (default: loopback).")
PortOption = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on.")


def serve_app(
    ctx: typer.Context,
    host: str,
    port: int,
    login: bool | None,
    *,
    secure_cookies: bool = False,
    cache_seconds: float = 10.0,
    worker: bool | None = None,
) -> None:
    """Serve the app for the CLI's radar: local single-user mode on loopback unless
    ``login`` (or sign-up) asks for accounts; accounts always on any other address."""
    from mlradar.web.auth import is_loopback

    c = core(ctx)
    loopback = is_loopback(host)
    if login is False and not loopback:
        raise fail(
            f"refusing to serve {host} without login: local single-user mode is for "
            "loopback only (drop --no-login, and give users passwords with "
            "`mlradar user add NAME --password`)"
        )
    wants_login = login if login is not None else (c.settings.allow_signup or not loopback)
    state = ctx.find_root().obj
    local_user = None
    if not wants_login:
        local_user = getattr(state, "user", None) or c.settings.user
    elif not c.settings.allow_signup and not any(c.accounts.has_password(u.id) for u in c.users()):
        err_console.print(
            "note: nobody can log in yet: give someone a password with "
            "`mlradar user add NAME --password` (or `mlradar user password NAME`), or set "
            "allow_signup = true",
            highlight=False,
        )
    import uvicorn

    from mlradar.web import WebSettings, create_app

    background = c.settings.serve_worker if worker is None else worker
    web = WebSettings(
        local_user=local_user,
        secure_cookies=secure_cookies,
        cache_seconds=cache_seconds,
        worker=background,
    )
    app = create_app(c, web)
    shown = f"[{host}]" if ":" in host else host
    mode = f"as {local_user}, no login (loopback only)" if local_user else "with login"
    updates = "due updates run in the background" if background else "no scheduled updates"
    console.print(
        f"serving http://{shown}:{port}/ {mode}; {updates}; Ctrl-C stops",
        highlight=False,
        soft_wrap=True,  # one line, the address whole, however narrow the terminal
    )
    # proxy_headers: behind a reverse proxy on this machine, X-Forwarded-Proto=https marks
    # the session cookie Secure and X-Forwarded-For gives login limits the real address.
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="warning")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: str = HostOption,
        port: int = PortOption,
        login: bool | None = typer.Option(
            None,
            "--login/--no-login",
            help="Require accounts (default: on any address but loopback, or when sign-up "
            "is allowed); --no-login is refused off loopback.",
        ),
        secure_cookies: bool = typer.Option(
            False, "--secure-cookies", help="Mark the session cookie Secure (behind HTTPS)."
        ),
        cache_seconds: float = typer.Option(
            10.0,
            "--cache-seconds",
            min=0,
            help="Keep a page's lists this long per user (a user's own writes drop them); 0: off.",
        ),
        worker: bool | None = typer.Option(
            None,
            "--worker/--no-worker",
            help="Run the due updates and digest emails in the background while serving "
            "(default: the serve_worker setting, on); a separate `mlradar worker` and this "
            "one never run at once on one database.",
        ),
    ) -> None:
        """Serve the reading pages and the REST API (/api/v1, docs at /docs)."""
        serve_app(
            ctx,
            host,
            port,
            login,
            secure_cookies=secure_cookies,
            cache_seconds=cache_seconds,
            worker=worker,
        )
