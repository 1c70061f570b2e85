"""Errors as RFC 9457 problem details (``application/problem+json``) for the API, and as
an HTML page for the pages.  Bad input is a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from mlradar.exceptions import (
    AuthError,
    DigestAlreadySentError,
    EmailError,
    FetchError,
    InvalidInputError,
    LoginRateLimitedError,
    NotFoundError,
    ParseError,
    RadarError,
    RunnerBusyError,
    SourceError,
    SourceExistsError,
    StorageError,
    UnsafeURLError,
    UserExistsError,
)
from mlradar.web._json import dumps

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error the web layer raises itself (CSRF, login required...)."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


class LoginRequired(Exception):
    """A page that needs a signed-in user: the handler redirects to the login page."""


_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Server error",
    503: "Unavailable",
}


def status_of(exc: RadarError) -> int:
    """The HTTP status of a library error."""
    if isinstance(exc, LoginRateLimitedError):
        return 429
    if isinstance(exc, AuthError):
        return 401
    if isinstance(
        exc, SourceExistsError | UserExistsError | DigestAlreadySentError | RunnerBusyError
    ):
        return 409
    if isinstance(exc, UnsafeURLError):
        return 400
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 400
    if isinstance(exc, FetchError | ParseError | SourceError | EmailError):
        # The address given could not be used (down, not a feed), or email cannot go out
        # (not configured, the SMTP server refused): nothing to retry here, and no
        # failure of this server's code (a 5xx would say so).
        return 422
    if isinstance(exc, StorageError):
        return 503
    return 400


def problem_response(
    request: Request, status: int, detail: str, *, title: str | None = None, **extra: Any
) -> Response:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(int(extra.pop("retry_after")) or 1)
    body = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    if not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    ):
        from mlradar.web.render import render_error

        return render_error(request, status, body["title"], detail, headers)
    return Response(dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    async def radar_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RadarError)
        extra: dict[str, Any] = {}
        if isinstance(exc, LoginRateLimitedError):
            extra["retry_after"] = exc.retry_after
        return problem_response(request, status_of(exc), str(exc), **extra)

    async def own_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(request, exc.status, exc.detail, title=exc.title, **exc.extra)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else first["msg"]
        return problem_response(request, 422, str(detail), errors=errors)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, exc.status_code, str(exc.detail))

    async def login_required(request: Request, exc: Exception) -> Response:
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=303, headers={"Location": f"/login?next={quote(target)}"})

    async def unexpected(request: Request, exc: Exception) -> Response:
        return problem_response(request, 500, "an unexpected error; it is logged")

    app.add_exception_handler(RadarError, radar_error)
    app.add_exception_handler(Problem, own_problem)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Exception, unexpected)
