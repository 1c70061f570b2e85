"""Templates: Jinja2 with autoescape on; feed HTML is sanitized again before it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

TEMPLATES = Path(__file__).parent / "templates"


#: Elements that would make the reader's browser fetch from the feed's host: a page of
#: mlradar makes no third-party requests (the CSP would block them; this keeps the console
#: clean and the layout whole).  Their content (alt text aside) is kept.
_MEDIA = frozenset({"img", "picture", "source", "video", "audio", "track", "map", "area"})


@lru_cache(maxsize=1)
def _page_cleaner() -> Any:
    import nh3

    tags = set(nh3.ALLOWED_TAGS) - _MEDIA - {"script", "style"}
    attributes = {t: set(a) for t, a in nh3.ALLOWED_ATTRIBUTES.items() if t not in _MEDIA}
    attributes["*"] = attributes.get("*", set()) | {"title", "lang"}
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags={"script", "style"},
        attributes=attributes,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _safe_html(value: str | None) -> Any:
    """Feed HTML, sanitized again here (stored HTML was sanitized on the way in; this keeps
    a page safe even from rows an older version wrote) and without media elements."""
    from markupsafe import Markup

    from mlradar._content.html import sanitize_html

    cleaned = _page_cleaner().clean(sanitize_html(value or "", None))
    return Markup(cleaned)  # noqa: S704 - sanitized by nh3 twice just above


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d")


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES))
    t.env.filters["safe_html"] = _safe_html
    t.env.filters["day"] = _day
    t.env.filters["when"] = _when
    t.env.filters["q"] = lambda v: quote(str(v), safe="")
    return t


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    from mlradar.web.auth import principal

    try:
        who = principal(request)
    except Exception:  # an invalid token on a page: render as a visitor
        who = None
    core = request.app.state.core
    base = {
        "user": who.user if who else None,
        "csrf": who.csrf if who else "",
        "local": request.app.state.web.local_user is not None,
        "signup": core.settings.allow_signup,
        "path": request.url.path,
    }
    t: Jinja2Templates = request.app.state.templates
    return t.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status, headers=dict(headers or {})
    )


def render_error(
    request: Request, status: int, title: str, detail: str, headers: Mapping[str, str]
) -> Response:
    return render(
        request, "error.html", {"title": title, "detail": detail}, status=status, headers=headers
    )
