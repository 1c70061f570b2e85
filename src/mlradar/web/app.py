"""The app factory: one :class:`~mlradar.RadarCore` per app, a user's view per request."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from mlradar._version import __version__

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mlradar._radar import RadarCore

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

#: No inline script anywhere (feed content cannot run), nothing from another origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The API docs page (swagger-ui, vendored by a package) sets styles inline.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the app is served (the radar's own settings come from the core)."""

    local_user: str | None = None
    """Local single-user mode: every request acts as this user, with no login.  Only for
    an app bound to loopback (``mlradar serve`` refuses it on any other address)."""
    secure_cookies: bool = False
    """Mark the session cookie Secure even on plain HTTP (requests seen as HTTPS always are)."""
    session_days: int = 30
    cache_seconds: float = 10.0
    """How long a page's records are kept per user (see :mod:`mlradar.web.cache`); 0: off."""
    worker: bool = False
    """Run the due updates and digests in a background thread while the app serves
    (``mlradar serve`` does unless ``--no-worker``; an app built for tests or embedded
    elsewhere does not, unless asked).  Started and stopped by the app's lifespan."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the background worker with the app when its settings ask for one, and stop
    it (waiting for a tick in progress) when the app shuts down.  Under the runners' lock,
    a ``mlradar worker`` on the same database and this one never run at once."""
    web: WebSettings = app.state.web
    app.state.worker = None
    if web.worker:
        core: RadarCore = app.state.core
        app.state.worker = core.start_background()  # its runs are recorded as "serve"
    try:
        yield
    finally:
        handle = app.state.worker
        if handle is not None:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(handle.stop)
            if handle.running:  # a fetch outlasted the wait; the daemon thread ends with us
                log.warning("the background worker was still busy at shutdown")


class SecurityHeaders:
    """Adds the security headers to every response, and the session cookie when the
    request started or changed a session (a pure ASGI middleware: cheaper than
    BaseHTTPMiddleware on every request)."""

    def __init__(self, app: ASGIApp, *, secure: bool, max_age: int) -> None:
        self.app = app
        self.secure = secure
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                csp = DOCS_CSP if path == "/docs" else CSP
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                session = state.get("set_session")
                if session is not None:
                    headers.append((b"set-cookie", self._cookie(scope, session, https)))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _cookie(self, scope: Scope, session: Any, https: bool) -> bytes:
        from mlradar.web.auth import COOKIE, SessionCodec

        app = scope["app"]
        codec: SessionCodec = app.state.codec
        parts = [
            f"{COOKIE}={codec.dump(session)}",
            "Path=/",
            f"Max-Age={self.max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.secure or https:
            parts.append("Secure")
        return "; ".join(parts).encode()


class HeadAsGet:
    """Answers HEAD as the GET of the same URL without its body (RFC 9110 §9.3.2).

    FastAPI routes GET only, so feed readers and monitors that ask HEAD first got 405.
    A HEAD is safe: it goes through the same authentication, and no route writes on GET.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def create_app(core: RadarCore, settings: WebSettings | None = None) -> FastAPI:
    """The web app and REST API over ``core`` (which the caller keeps and closes)."""
    from mlradar.web import (
        problems,
        render,
        routes_api,
        routes_digests,
        routes_feeds,
        routes_pages,
        routes_stories,
    )
    from mlradar.web.auth import SessionCodec
    from mlradar.web.cache import ViewCache

    web = settings or WebSettings()
    app = FastAPI(
        title="mlradar",
        version=__version__,
        description="The REST API of mlradar: what the CLI does, as JSON.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.core = core
    app.state.web = web
    max_age = web.session_days * 86400
    app.state.codec = SessionCodec(core.accounts.secret_key(), max_age)
    app.state.local_user = core.ensure_user(web.local_user) if web.local_user is not None else None
    app.state.templates = render.templates()
    app.state.cache = ViewCache(web.cache_seconds)
    app.state.worker = None  # the lifespan starts one when ``web.worker`` asks
    problems.install(app)
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_digests.api)
    app.include_router(routes_digests.pages)
    app.include_router(routes_feeds.api)
    app.include_router(routes_feeds.pages)
    app.include_router(routes_feeds.feeds)
    app.include_router(routes_stories.api)
    app.include_router(routes_stories.pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # the docs page then says so; the API itself works
        pass
    else:
        app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.add_middleware(SecurityHeaders, secure=web.secure_cookies, max_age=max_age)
    app.add_middleware(HeadAsGet)  # outermost: every layer below sees a GET
    return app
