"""The HTML pages: server-rendered, working without JavaScript (plain forms, then a
redirect back), enhanced by ``static/app.js`` (actions in place, keyboard shortcuts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from mlradar._radar import Radar
from mlradar.exceptions import AuthError, InvalidInputError, RadarError, RunnerBusyError
from mlradar.web import views, views_digests
from mlradar.web._json import JsonResponse
from mlradar.web.auth import (
    cached,
    client_address,
    csrf_guard,
    new_session,
    page_radar,
    principal,
    start_session,
)
from mlradar.web.render import render

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
PageRadar = Annotated[Radar, Depends(page_radar)]
MAX_OPML = 5 * 1024 * 1024


def _back(target: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: an open redirect would be a bug)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# -- the queue, search, papers, items ---------------------------------------------------------


@router.get("/")
def home(
    request: Request,
    radar: PageRadar,
    tab: Annotated[str, Query(max_length=20)] = "foryou",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if tab not in views.TABS:
        raise InvalidInputError(f"no tab {tab!r}: use {', '.join(views.TABS)}")
    view = cached(
        request, radar, ("queue", tab, cursor), lambda: views.queue(radar, tab, cursor=cursor)
    )
    return render(request, "queue.html", {"view": view, "tabs": views.TABS})


@router.get("/search")
def search_page(
    request: Request,
    radar: PageRadar,
    q: Annotated[str, Query(max_length=1000)] = "",
    source: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006 - FastAPI's idiom
    since: Annotated[str, Query(max_length=40)] = "",
    exhaustive: bool = False,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    view = None
    error = None
    sources = [s for s in source if s]
    if q.strip():
        try:
            key = ("search", q, tuple(sources), since, exhaustive, cursor, 20)
            view = cached(
                request,
                radar,
                key,
                lambda: views.search(
                    radar,
                    q,
                    sources=sources,
                    since=since or None,
                    exhaustive=exhaustive,
                    cursor=cursor,
                ),
            )
        except InvalidInputError as exc:
            error = str(exc)
    context = {
        "q": q,
        "view": view,
        "error": error,
        "since": since,
        "exhaustive": exhaustive,
        "selected": sources,
        "all_sources": radar.sources(),
    }
    return render(request, "search.html", context, status=400 if error else 200)


@router.get("/paper/{ref:path}")
def paper_page(
    request: Request, radar: PageRadar, ref: Annotated[str, PathParam(max_length=500)]
) -> Response:
    view = cached(request, radar, ("paper", ref), lambda: views.paper(radar, ref))
    return render(request, "paper.html", {"view": view})


@router.get("/related/{ref:path}")
def related_page(
    request: Request, radar: PageRadar, ref: Annotated[str, PathParam(max_length=500)]
) -> Response:
    detail = radar.paper(ref)
    found, note = views.related(radar, detail.ref, 20)
    return render(request, "related.html", {"detail": detail, "related": found, "note": note})


@router.get("/bibtex/{ref:path}")
def paper_bibtex(radar: PageRadar, ref: Annotated[str, PathParam(max_length=500)]) -> Response:
    return Response(radar.export_bibtex(ids=[ref]), media_type="text/plain; charset=utf-8")


@router.get("/item/{item_id}")
def item_page(
    request: Request, radar: PageRadar, item_id: Annotated[int, PathParam(ge=1, le=2**62)]
) -> Response:
    return render(request, "item.html", {"view": views.item(radar, item_id)})


@router.post("/act")
def act(
    request: Request,
    radar: PageRadar,
    action: Annotated[str, Form(max_length=20)],
    ids: Annotated[list[str], Form(max_length=500)],
    tag: Annotated[str | None, Form(max_length=200)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    result = views.act(radar, action, ids, tag or None)
    if _wants_json(request):
        return JsonResponse(result)
    return _see_other(_back(next))


# -- sources --------------------------------------------------------------------------------


def _sources_page(
    request: Request, radar: Radar, *, error: str | None = None, notice: str | None = None
) -> Response:
    context = {
        "view": views.sources(radar),
        "error": error,
        "notice": notice,
        "worker": request.app.state.worker,
    }
    return render(request, "sources.html", context, status=400 if error else 200)


@router.get("/sources")
def sources_page(request: Request, radar: PageRadar) -> Response:
    notice = request.query_params.get("notice")
    return _sources_page(request, radar, notice=notice[:300] if notice else None)


@router.post("/sources/add")
def add_source(
    request: Request,
    radar: PageRadar,
    url: Annotated[str, Form(min_length=1, max_length=2000)],
    name: Annotated[str | None, Form(max_length=200)] = None,
    tags: Annotated[str | None, Form(max_length=1000)] = None,
) -> Response:
    tag_list = [t.strip() for t in (tags or "").split(",") if t.strip()]
    try:
        added = radar.add_source(url.strip(), name=name or None, tags=tag_list)
    except RadarError as exc:
        return _sources_page(request, radar, error=str(exc))
    from urllib.parse import quote

    return _see_other(f"/sources?notice={quote('added ' + added.display_name)}")


@router.post("/sources/profile")
def follow_profile(radar: PageRadar, profile: Annotated[str, Form(max_length=40)]) -> Response:
    from urllib.parse import quote

    done = radar.init_profile(profile)
    text = f"following {len(done.subscribed)} more sources of the {done.profile} profile"
    return _see_other(f"/sources?notice={quote(text + '; update to read them')}")


@router.post("/sources/update")
def update_sources(radar: PageRadar) -> Response:
    from urllib.parse import quote

    try:
        summary = radar.update(exclusive=True)
    except RunnerBusyError as exc:
        return _see_other(f"/sources?notice={quote(str(exc))}")
    text = f"updated: {summary.new} new items, {summary.failed} sources failed"
    return _see_other(f"/sources?notice={quote(text)}")


@router.post("/sources/remove")
def remove_source(radar: PageRadar, ref: Annotated[str, Form(max_length=2000)]) -> Response:
    radar.remove_source(int(ref) if ref.isdigit() and len(ref) < 18 else ref)
    return _see_other("/sources")


@router.post("/sources/import")
async def import_opml(
    request: Request, radar: PageRadar, file: Annotated[UploadFile, File()]
) -> Response:
    data = await file.read(MAX_OPML + 1)
    if len(data) > MAX_OPML:
        return _sources_page(request, radar, error="an OPML file has at most 5 MiB")
    try:
        result = await run_in_threadpool(radar.import_opml, data)
    except RadarError as exc:
        return _sources_page(request, radar, error=str(exc))
    from urllib.parse import quote

    text = f"imported {result.feeds} feeds: {result.added} new, {result.existing} followed already"
    return _see_other(f"/sources?notice={quote(text)}")


@router.get("/sources/export.opml")
def export_opml(radar: PageRadar) -> Response:
    return Response(
        radar.export_opml(),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mlradar.opml"'},
    )


# -- catalog and learning paths -----------------------------------------------------------------


@router.get("/catalog")
def catalog_page(
    request: Request,
    radar: PageRadar,
    topic: Annotated[str, Query(max_length=200)] = "",
    level: Annotated[str, Query(max_length=40)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    entries = radar.catalog(topic=topic or None, level=level or None, kind=kind or None)
    context = {"entries": entries, "topic": topic, "level": level, "kind": kind}
    return render(request, "catalog.html", context)


@router.get("/path")
def path_page(
    request: Request,
    radar: PageRadar,
    level: Annotated[str, Query(max_length=40)] = "",
    goal: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    view = views.learning_path(radar, level or None, goal or None)
    return render(request, "path.html", {"view": view, "level": level, "goal": goal})


@router.post("/path/done")
def path_done(
    request: Request,
    radar: PageRadar,
    slug: Annotated[str, Form(max_length=300)],
    done: Annotated[bool, Form()] = True,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    entry = radar.mark_done(slug, done=done)
    if _wants_json(request):
        return JsonResponse({"slug": entry.slug, "done": done})
    return _see_other(_back(next, "/path"))


# -- settings: API tokens ---------------------------------------------------------------------


def _settings_page(
    request: Request,
    radar: Radar,
    new_token: str | None = None,
    *,
    new_feed: views_digests.CreatedFeedToken | None = None,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The settings page: API tokens, feed tokens (``new_feed``: one just made, its
    secret shown this once) and the digest schedule."""
    context = {
        "tokens": radar.api_tokens(),
        "new_token": new_token,
        "feeds": views_digests.feed_settings(radar, request.app.state.core.settings, new_feed),
        "error": error,
        "notice": notice,
    }
    return render(request, "settings.html", context, status=status)


@router.get("/settings")
def settings_page(request: Request, radar: PageRadar) -> Response:
    notice = request.query_params.get("notice")
    return _settings_page(request, radar, notice=notice[:300] if notice else None)


@router.post("/settings/tokens")
def create_token(
    request: Request, radar: PageRadar, name: Annotated[str, Form(min_length=1, max_length=200)]
) -> Response:
    made = radar.create_api_token(name)
    # Shown in this response only: it is stored hashed.
    return _settings_page(request, radar, new_token=made.token)


@router.post("/settings/tokens/revoke")
def revoke_token(radar: PageRadar, token_id: Annotated[int, Form(ge=1, le=2**62)]) -> Response:
    radar.revoke_api_token(token_id)
    return _see_other("/settings")


# -- accounts ------------------------------------------------------------------------------------


@router.get("/login")
def login_page(
    request: Request,
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> Response:
    if request.app.state.web.local_user is not None:
        return _see_other("/")
    principal(request)  # starts a session: the form needs its CSRF token
    return render(request, "login.html", {"next": _back(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    core = request.app.state.core
    try:
        user = core.accounts.authenticate(name, password, address=client_address(request))
    except AuthError as exc:
        from mlradar.exceptions import LoginRateLimitedError

        status = 429 if isinstance(exc, LoginRateLimitedError) else 401
        context = {"next": _back(next), "error": str(exc), "name": name}
        return render(request, "login.html", context, status=status)
    start_session(request, new_session(user))
    return _see_other(_back(next))


@router.get("/signup")
def signup_page(request: Request) -> Response:
    principal(request)
    return render(request, "signup.html", {"error": None})


@router.post("/signup")
def signup(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    core = request.app.state.core
    try:
        user = core.accounts.sign_up(name, password)
    except RadarError as exc:
        status = 403 if isinstance(exc, AuthError) else 400
        return render(request, "signup.html", {"error": str(exc), "name": name}, status=status)
    start_session(request, new_session(user))
    return _see_other("/")


@router.post("/logout")
def logout(request: Request) -> Response:
    start_session(request, new_session())
    return _see_other("/login")


# -- the API's docs, without a CDN ---------------------------------------------------------------


@router.get("/docs")
def docs(request: Request) -> Response:
    return render(request, "docs.html")
